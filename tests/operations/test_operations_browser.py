"""The operations page in a real headless Chromium over the demo data: filters change the
figures, the charts are drawn, and chart = CSV = API for the same query string."""

from __future__ import annotations

import csv
import io
import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from feedback.demo import PASSWORD, ensure_demo_data
from surveys.types import utcnow
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

FETCH = """const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);"""


def _tiles(driver) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {t.get_attribute("data-kpi"): t.get_attribute("data-value")
            for t in driver.find_elements(By.CSS_SELECTOR, "li.kpi")}


def _fetch(driver, url: str) -> str:  # type: ignore[no-untyped-def]
    return driver.execute_async_script(FETCH, url)  # type: ignore[no-any-return]


def test_operations_page_filters_and_chart_csv_api_agree(live_server, browser):  # type: ignore[no-untyped-def]
    live_server.clock.now = utcnow()
    ensure_demo_data(live_server.engine, live_server.settings, interactions=300)
    sign_in(browser, live_server, "lead@demo.test", PASSWORD)
    WebDriverWait(browser, 10).until(lambda d: "/login" not in d.current_url)
    browser.get(f"{live_server.url}/reports/operations")
    WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "li.kpi"))
    everyone = _tiles(browser)
    assert everyone["aht"] and everyone["abandonment"]
    drawn = [svg for svg in browser.find_elements(By.CSS_SELECTOR, ".chart svg")
             if svg.find_elements(By.CSS_SELECTOR, "path, rect, polyline")]
    assert len(drawn) >= 3  # trend, breakdown, and the satisfaction-by-lever bars

    Select(browser.find_element(By.NAME, "team")).select_by_visible_text("Billing")
    browser.find_element(By.CSS_SELECTOR, ".report-filters button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "team=Billing" in d.current_url)
    billing = _tiles(browser)
    assert billing["aht"] != everyone["aht"]

    href = browser.find_element(By.CSS_SELECTOR, "a.csv[href*='/csv/kpis']").get_attribute("href")
    assert "team=Billing" in href
    rows = {r["kpi"]: r for r in csv.DictReader(io.StringIO(_fetch(browser, href).lstrip("\ufeff")))}
    api = json.loads(_fetch(browser, href.replace("/csv/kpis", "")))
    for kpi in ("aht", "asa", "abandonment", "fcr_agent"):
        shown = float(billing[kpi])
        assert float(rows[kpi]["value"]) == pytest.approx(shown, abs=0.006)
        assert api["kpis"][kpi]["value"] == pytest.approx(shown, abs=0.006)
    # The trend chart's data table is the trend CSV.
    trend_csv = _fetch(browser, href.replace("/csv/kpis", "/csv/trend"))
    first_bucket = next(csv.DictReader(io.StringIO(trend_csv.lstrip("\ufeff"))))["bucket"]
    table = browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby='ops-trend-h'] table")
    assert first_bucket in table.get_attribute("textContent")
