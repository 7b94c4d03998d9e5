"""The customer's survey page in a real headless Chromium: a scanner that runs the page's
JavaScript records nothing; one tap on "Confirm" (above the fold on a phone) records the
pre-selected score, the comment follows, RTL renders."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlmodel import Session, select

from feedback.recovery.models import RecoveryTask
from surveys.models import Invitation, Response
from tests.factories import make_invitation
from tests.support.followups import run_followups

pytestmark = pytest.mark.browser


def test_scanner_running_javascript_records_nothing(live_server, browser, session):  # type: ignore[no-untyped-def]
    """A mail scanner opens the detractor button in a real browser with JavaScript on and waits:
    no answer, no recovery task, not even "opened". A person's one tap then records it."""
    inv = make_invitation(session, live_server.settings, live_server.clock.now)
    browser.set_window_size(390, 844)  # a phone
    browser.get(f"{live_server.url}/s/{inv.token}?score=0")
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    time.sleep(2)  # what a sandbox gives a page's scripts before it judges the link
    with Session(live_server.engine) as s:
        assert s.exec(select(Response)).all() == []
        assert s.exec(select(RecoveryTask)).all() == []
        assert s.get(Invitation, inv.id).opened_at is None  # type: ignore[union-attr]
    # the pre-selected score is large and the confirm button sits above the fold
    confirm = browser.find_element(By.ID, "confirm")
    rect = browser.execute_script("return arguments[0].getBoundingClientRect().bottom", confirm)
    assert rect <= browser.execute_script("return window.innerHeight")
    assert browser.find_element(By.ID, "score-0").is_selected()
    confirm.click()
    WebDriverWait(browser, 10).until(lambda d: "Thank you" in d.page_source)
    with Session(live_server.engine) as s:
        assert s.exec(select(Response.score, Response.source)).all() == [(0, "email-click")]
        assert s.get(Invitation, inv.id).opened_at is not None  # type: ignore[union-attr]
    # The recovery task follows after commit, from the worker's follow-ups job.
    run_followups(live_server.engine, live_server.settings, live_server.clock)
    with Session(live_server.engine) as s:
        assert len(s.exec(select(RecoveryTask)).all()) == 1


def test_email_button_then_comment_in_a_real_browser(live_server, browser, session):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, live_server.settings, live_server.clock.now)
    browser.get(f"{live_server.url}/s/{inv.token}?score=9")
    browser.find_element(By.ID, "confirm").click()  # the one tap
    WebDriverWait(browser, 10).until(lambda d: "Thank you" in d.page_source)
    with Session(live_server.engine) as s:
        assert s.exec(select(Response.score)).all() == [9]
    box = browser.find_element(By.NAME, "comment")
    box.send_keys("quick and kind")
    box.submit()
    WebDriverWait(browser, 10).until(ec.staleness_of(box))
    with Session(live_server.engine) as s:
        assert s.exec(select(Response.score, Response.comment)).all() == [(9, "quick and kind")]


def test_persian_page_is_right_to_left(live_server, browser, session):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, live_server.settings, live_server.clock.now,
                          customer={"locale": "fa"})
    browser.get(f"{live_server.url}/s/{inv.token}")
    html = browser.find_element(By.TAG_NAME, "html")
    assert html.get_attribute("dir") == "rtl"
    assert browser.execute_script("return getComputedStyle(document.body).direction") == "rtl"
    # every score is reachable by keyboard: a radio input per score, each with a label
    radios = browser.find_elements(By.CSS_SELECTOR, "input[type=radio][name=score]")
    assert len(radios) == 11
