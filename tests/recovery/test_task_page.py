"""The task page offers what can reach the customer, shows their local time, keeps staff
navigation on a 403, and escalation e-mails read as a person writes dates."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from sqlmodel import Session, select

from feedback.app import create_app
from feedback.notifications.models import Notification
from feedback.recovery.models import RecoveryContactAttempt, RecoveryTask
from feedback.recovery.tasks import scan_sla
from tests.recovery.conftest import sign_in


def _task_id(engine: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(RecoveryTask.id)).one() or 0)


def test_no_call_or_sms_without_a_phone_and_the_customer_clock_is_shown(  # type: ignore[no-untyped-def]
        settings, engine, clock, answer, staff):
    lead = staff("Lena", role="lead", password="s3cret-pass")
    answer(n=1, score=2, customer={"phone": None, "email": "a@example.com",
                                   "time_zone": "Asia/Tehran"})
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        sign_in(c, lead.email)
        page = c.get(f"/queue/{_task_id(engine)}").text
    channels = page[page.index('id="channel"'):]
    channels = channels[:channels.index("</select>")]
    assert 'value="email"' in channels
    assert 'value="call"' not in channels and 'value="sms"' not in channels
    assert 'id="no-phone"' in page
    assert 'id="customer-time"' in page


def test_a_call_is_refused_for_a_customer_with_no_phone_beside_the_field(  # type: ignore[no-untyped-def]
        settings, engine, clock, answer, staff):
    """A crafted form (or the API) cannot log what the page does not offer."""
    lead = staff("Lena", role="lead", password="s3cret-pass")
    answer(n=1, score=2, customer={"phone": None, "email": "a@example.com"})
    task = _task_id(engine)
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        sign_in(c, lead.email)
        token = c.cookies.get("csrftoken")
        for channel in ("call", "sms"):
            r = c.post(f"/queue/{task}/contact", data={"channel": channel, "result": "reached",
                                                       "_csrf_token": token})
            assert r.status_code == 422
            beside = r.text[r.text.index('id="contact-channel-error"'):][:200]
            assert "no phone number on file" in beside
    with Session(engine) as s:
        assert s.exec(select(RecoveryContactAttempt)).all() == []


def test_a_forbidden_page_keeps_the_staff_navigation(settings, engine, clock, staff):  # type: ignore[no-untyped-def]
    agent = staff("Rita", password="s3cret-pass")
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        sign_in(c, agent.email)
        r = c.get("/reports", headers={"Accept": "text/html"})
    assert r.status_code == 403
    assert 'class="topnav"' in r.text and 'href="/queue"' in r.text


def test_escalations_read_well_and_a_breach_is_not_followed_by_due_soon(  # type: ignore[no-untyped-def]
        settings, engine, clock, answer, staff):
    staff("Lena", role="lead")
    answer(n=1, score=2)
    # The watcher was down for two days: both deadlines of the first contact and the
    # resolution's warning fall due in one pass.
    clock.advance(hours=40)
    scan_sla(engine, settings, clock.now)
    with Session(engine) as s:
        notes = s.exec(select(Notification).where(Notification.kind == "email")).all()
    subjects = [n.subject or "" for n in notes]
    assert any("SLA breach" in x for x in subjects)
    assert not any("due soon" in x for x in subjects), subjects
    body = notes[0].body or ""
    assert "T" not in body.split("due: ")[1][:11] and "UTC" in body  # "Tue 1 Dec 2026, 14:05 UTC"
