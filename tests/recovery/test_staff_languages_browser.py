"""A Persian-speaking team lead in a real Chromium: chooses فارسی with the switcher and gets
the queue right to left, in Persian digits, with customers' words in their own direction —
and the countdowns queue.js keeps ticking stay Persian."""

from __future__ import annotations

import re

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser
PASSWORD = "s3cret-pass"
PERSIAN_NUMBER = re.compile("[۰-۹٬٫]+")


def test_a_persian_staff_page_reads_right_to_left_in_persian_digits(  # type: ignore[no-untyped-def]
        live_server, browser, answer, staff):
    lead = staff("Leyla", role="lead", password=PASSWORD)
    answer(n=1, score=2, comment="«پول دو بار کم شد»!")
    answer(n=2, score=1, comment="Charged twice!")
    live_server.clock.advance(hours=2)
    sign_in(browser, live_server, lead.email, PASSWORD)
    browser.get(f"{live_server.url}/queue")
    Select(browser.find_element(By.ID, "lang-select")).select_by_value("fa")
    browser.find_element(By.CSS_SELECTOR, ".lang-switch button").click()
    # The old page's <html> goes stale while the new one loads; the wait reads it again.
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fa")
    assert browser.current_url.endswith("/queue")  # back where the choice was made

    html = browser.find_element(By.TAG_NAME, "html")
    assert html.get_attribute("dir") == "rtl"
    assert browser.execute_script("return getComputedStyle(document.body).direction") == "rtl"
    assert browser.find_element(By.TAG_NAME, "h1").text == "صف پیگیری"
    # The navigation starts at the right edge of the window.
    nav = browser.find_element(By.CSS_SELECTOR, ".topnav strong").rect
    assert nav["x"] > 1280 / 2

    tiles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".q-tiles .value")]
    assert tiles and all(PERSIAN_NUMBER.fullmatch(t) for t in tiles), tiles
    assert tiles[0] == "۲"  # two open tasks

    # Countdowns, once queue.js has taken them over, are still Persian words and digits.
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "queue").get_attribute("data-live") == "1")
    for due in browser.find_elements(By.CSS_SELECTOR, "time[data-due]"):
        assert not re.search("[0-9]", due.text) and re.search("[۰-۹]", due.text), due.text
        assert "دیگر" in due.text or "دیرکرد" in due.text

    # Each customer's words keep their own direction: the Persian quote's "!" lands at its
    # (left) end, the English one reads left to right inside the right-to-left page.
    directions = browser.execute_script(
        "return Array.from(document.querySelectorAll('.excerpt'))"
        ".map(e => [e.textContent, getComputedStyle(e).direction])")
    assert dict(directions) == {"«پول دو بار کم شد»!": "rtl", "Charged twice!": "ltr"}

    # The lead's dashboard, in the same language: Persian headings, digits and dates.
    browser.get(f"{live_server.url}/reports")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    assert browser.find_element(By.TAG_NAME, "h1").text == "داشبورد تجربهٔ مشتری"
    period = browser.find_element(By.CSS_SELECTOR, ".period").text
    assert re.search("[۰-۹]", period) and not re.search("[0-9]", period.split("·")[0]), period
    values = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".kpi-tiles .value")]
    shown = [v for v in values if v not in ("–", "")]
    assert shown and all(not re.search("[0-9]", v) for v in shown), values
    line = browser.find_element(By.ID, "unhappy-vs-tasks").text
    assert line.startswith("۲ پاسخ ناراضی از ۲ مشتری"), line
    # Server-drawn charts label their axes in the same digits.
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.fb-chart text')).map(e => e.textContent)")
    assert labels and not [t for t in labels if re.search("[0-9]", t)], labels[:20]
    assert any(re.search("[۰-۹]", t) for t in labels)
