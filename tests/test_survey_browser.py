"""The customer's survey page in a real headless Chromium: one tap from the email button
records the score (auto-submitted where JavaScript runs), the comment follows, RTL renders."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlmodel import Session, select

from surveys.models import Response
from tests.factories import make_invitation

pytestmark = pytest.mark.browser


def test_email_button_then_comment_in_a_real_browser(live_server, browser, session):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, live_server.settings, live_server.clock.now)
    browser.get(f"{live_server.url}/s/{inv.token}?score=9")
    # JavaScript auto-submits the pre-selected score: the answer is recorded without a tap.
    # The landing page already offers the comment box, so wait for the thank-you page itself.
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
