"""Staff pages in the viewer's language: chosen with the switcher (a cookie), else negotiated
from Accept-Language by the same helper as the customer pages; numbers, dates and digits the
reader's way (Persian digits and right-to-left in Persian)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from feedback import i18n
from feedback.app import create_app
from tests.recovery.conftest import sign_in

PERSIAN_DIGITS = re.compile("[۰-۹]")


def _queue(settings: Any, engine: Any, clock: Any, lead: Any, **headers: str) -> str:
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        sign_in(c, lead.email)
        return c.get("/queue", headers=headers).text


def test_the_queue_follows_accept_language_by_weight(settings, engine, clock, answer, staff):  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    answer(n=1, score=2, comment="«خیلی بد بود»!")
    page = _queue(settings, engine, clock, lead, **{"Accept-Language": "en;q=0.1, fa;q=0.9"})
    assert '<html lang="fa" dir="rtl">' in page
    assert "صف پیگیری" in page and "Recovery queue" not in page
    tiles = re.findall(r'<div class="value[^"]*">([^<]*)</div>', page)
    assert tiles and all(PERSIAN_DIGITS.fullmatch(v) for v in tiles), tiles
    # A customer's words keep their own direction inside the staff page.
    assert '<div class="excerpt" dir="auto">«خیلی بد بود»!</div>' in page

    zh = _queue(settings, engine, clock, lead, **{"Accept-Language": "zh-CN,en;q=0.5"})
    assert '<html lang="zh-CN" dir="ltr">' in zh and "挽回队列" in zh


def test_the_switcher_remembers_the_choice(settings, engine, clock, staff):  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        sign_in(c, lead.email)
        home = c.get("/", headers={"Accept-Language": "en"}).text
        assert 'action="/language"' in home
        token = c.cookies.get("csrftoken")
        r = c.post("/language", data={"lang": "zh-CN", "next": "/queue", "_csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/queue"
        assert c.cookies.get(i18n.COOKIE) == "zh-CN"
        # The choice beats the browser's header, on error pages too.
        assert "挽回队列" in c.get("/queue", headers={"Accept-Language": "fa"}).text
        missing = c.get("/queue/999999", headers={"Accept-Language": "fa", "Accept": "text/html"})
        assert missing.status_code == 404 and '<html lang="zh-CN"' in missing.text
        bad = c.post("/language", data={"lang": "xx", "_csrf_token": token},
                     follow_redirects=False)
        assert bad.status_code == 422 and "lang" in bad.text
        # An open redirect is refused: the switcher only goes back to a page of this site.
        r = c.post("/language", data={"lang": "en", "next": "//evil.example",
                                      "_csrf_token": token}, follow_redirects=False)
        assert r.headers["location"] == "/"


def test_the_sign_in_page_is_translated_before_anyone_signs_in(settings, engine, clock):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        page = c.get("/login", headers={"Accept-Language": "fa"}).text
    assert 'dir="rtl"' in page and "گذرواژه" in page


@pytest.mark.parametrize(("locale", "number", "when"), [
    ("en", "1,234.5", "Nov 2, 2026, 17:35"),
    ("zh-CN", "1,234.5", "2026年11月2日 17:35"),
    ("fa", "۱٬۲۳۴٫۵", "۲ نوامبر ۲۰۲۶،\u200f ۱۷:۳۵"),
])
def test_numbers_and_dates_the_readers_way(locale: str, number: str, when: str) -> None:
    at = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
    assert i18n.number(locale, 1234.5, 1) == number
    assert i18n.when(locale, at, "Asia/Tehran") == when


def test_plural_forms_come_from_cldr() -> None:
    assert i18n.t("en", i18n.plural_key("en", "staff.queue.total", 1), n=1).startswith("1 task,")
    assert i18n.t("en", i18n.plural_key("en", "staff.queue.total", 2), n=2).startswith("2 tasks,")
    assert i18n.plural_key("zh-CN", "staff.queue.total", 1) == "staff.queue.total.other"


def test_every_staff_key_is_in_every_catalogue() -> None:
    en = {k for k in i18n._load("en") if k.startswith("staff.")}
    for locale in ("zh-CN", "fa"):
        missing = en - set(i18n._load(locale))
        assert not missing, f"{locale} lacks {sorted(missing)[:10]}"


def test_the_dashboard_explains_unhappy_answers_versus_tasks(settings, engine, clock, answer, staff):  # type: ignore[no-untyped-def]
    """Three unhappy answers from two customers and a passive one that names a keyword: two
    tasks opened by an unhappy answer, one unhappy answer joined its customer's open task, and
    one task opened by the keyword."""
    lead = staff("Lena", role="lead", password="s3cret-pass")
    answer(n=1, score=2)
    clock.advance(hours=1)
    answer(n=2, score=1, customer={"external_id": "C-1"})  # same customer, task still open
    answer(n=3, score=4)
    answer(n=4, score=8, comment="I will cancel")
    day = clock.now.date().isoformat()
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        sign_in(c, lead.email)
        page = c.get("/reports", params={"from": day, "to": day},
                     headers={"Accept-Language": "en"}).text
    line = page[page.index('id="unhappy-vs-tasks"'):]
    line = re.sub(r"\s+", " ", line[:line.index("</p>")])
    assert "3 unhappy answers from 2 customers: 2 opened a recovery task" in line
    assert "1 joined the task already open for the same customer" in line
    assert "3 recovery tasks opened in this period." in line
    assert "1 of them by a keyword or theme" in line
