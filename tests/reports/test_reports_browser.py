"""The lead's pages in a real headless Chromium over the demo data: they load, filters change
the figures, charts are non-empty SVG, and a CSV download holds the API's figures."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from feedback.demo import PASSWORD, ensure_demo_data
from feedback.reports import rollups
from surveys.types import utcnow
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

FETCH = """const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);"""


@pytest.fixture
def demo(live_server):  # type: ignore[no-untyped-def]
    live_server.clock.now = utcnow()
    ensure_demo_data(live_server.engine, live_server.settings, interactions=400)
    rollups.catch_up(live_server.engine, live_server.settings, live_server.clock.now)
    return live_server


def _sign_in(driver, server, email: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in and wait for the redirect, so the next page load carries the session cookie."""
    sign_in(driver, server, email, PASSWORD)
    WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)


def _tiles(driver) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {t.get_attribute("data-kpi"): t.get_attribute("data-value")
            for t in driver.find_elements(By.CSS_SELECTOR, "li.kpi")}


def _fetch(driver, url: str) -> str:  # type: ignore[no-untyped-def]
    return driver.execute_async_script(FETCH, url)  # type: ignore[no-any-return]


def _non_empty_svgs(driver) -> list[str]:  # type: ignore[no-untyped-def]
    return [svg.get_attribute("class").split()[-1] for svg in driver.find_elements(By.CSS_SELECTOR, ".chart svg")
            if svg.find_elements(By.CSS_SELECTOR, "path, rect, polyline, circle")
            and svg.size["width"] > 100]


def test_dashboard_filters_charts_and_csv(demo, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, demo, "lead@demo.test")
    browser.get(f"{demo.url}/reports")
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "li.kpi"))
    everyone = _tiles(browser)
    assert everyone["nps"] and everyone["response_rate"]
    drawn = _non_empty_svgs(browser)
    assert {"fb-chart--line", "fb-chart--bar"} <= set(drawn)
    # The heatmap is there with its title even where cells are too thin to colour.
    assert "weekday and hour" in browser.find_element(
        By.CSS_SELECTOR, "svg.fb-chart--heatmap title").get_attribute("textContent")
    assert browser.find_element(By.CSS_SELECTOR, "svg[role=img] title").get_attribute("textContent")

    Select(browser.find_element(By.NAME, "team")).select_by_visible_text("Billing")
    browser.find_element(By.CSS_SELECTOR, ".report-filters button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "team=Billing" in d.current_url)
    billing = _tiles(browser)
    assert billing["nps"] != everyone["nps"]

    # The page's figures are the API's, and the CSV link of the tiles holds the same figures.
    query = parse_qs(urlparse(browser.current_url).query)
    assert query["team"] == ["Billing"]
    csv_href = browser.find_element(By.CSS_SELECTOR, "a.csv[href*='/csv/tiles']").get_attribute("href")
    rows = {r["kpi"]: r for r in csv.DictReader(io.StringIO(_fetch(browser, csv_href).lstrip("\ufeff")))}
    api = _fetch(browser, csv_href.replace("/api/reports/csv/tiles", "/api/kpis"))
    overall = json.loads(api)["overall"]
    assert overall["nps"]["value"] == float(billing["nps"])
    # The CSV is rounded to two decimals for people; the API keeps full precision.
    assert float(rows["nps"]["value"]) == pytest.approx(overall["nps"]["value"], abs=0.005)
    assert float(rows["csat"]["value"]) == pytest.approx(overall["csat"]["value"], abs=0.005)


def test_trend_grain_switch_and_a_heatmap_with_something_to_read(demo, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, demo, "lead@demo.test")
    browser.get(f"{demo.url}/reports")  # the last 30 days: weekly by default
    trend = "section[aria-labelledby=trend-h] svg title"
    assert "by week" in browser.find_element(By.CSS_SELECTOR, trend).get_attribute("textContent")
    Select(browser.find_element(By.NAME, "grain")).select_by_visible_text("month")
    browser.find_element(By.CSS_SELECTOR, ".report-filters button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "grain=month" in d.current_url)
    assert "by month" in browser.find_element(By.CSS_SELECTOR, trend).get_attribute("textContent")
    assert Select(browser.find_element(By.NAME, "grain")).first_selected_option.text == "month"
    # The heatmap of a month of the demo is no field of blanks: hours are grouped until most
    # answered cells have enough answers to colour.
    cells = browser.find_elements(By.CSS_SELECTOR, "svg.fb-chart--heatmap g.cell")
    coloured = [c for c in cells if "cell--empty" not in (c.get_attribute("class") or "")]
    assert len(coloured) >= len(cells) / 3, (len(coloured), len(cells))


def test_breakdown_switch_and_theme_and_loop_pages(demo, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, demo, "lead@demo.test")
    browser.get(f"{demo.url}/reports?by=channel")
    labels = browser.find_element(
        By.CSS_SELECTOR, "section[aria-labelledby=breakdown-h] svg").get_attribute("textContent")
    assert "phone" in labels and "chat" in labels
    browser.get(f"{demo.url}/reports/loop")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Closed loop")
    assert browser.find_element(By.ID, "loop-reached").text
    assert "fb-chart--bar" in _non_empty_svgs(browser)
    browser.get(f"{demo.url}/reports/themes")
    assert "What customers talk about" in browser.find_element(By.TAG_NAME, "h1").text


def test_a_recovery_agent_cannot_open_the_dashboard(demo, browser):  # type: ignore[no-untyped-def]
    _sign_in(browser, demo, "agent@demo.test")
    browser.get(f"{demo.url}/reports")
    assert "may not report.read" in browser.page_source
