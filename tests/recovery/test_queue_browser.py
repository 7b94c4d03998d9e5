"""The recovery queue in a real headless Chromium: load it, claim a task, log a contact,
resolve it — with live countdowns, and usable on a phone-sized screen."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlmodel import Session, select

from feedback.recovery.models import RecoveryContactAttempt, RecoveryTask
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser
PASSWORD = "s3cret-pass"


@pytest.fixture
def two_tasks(live_server, settings, answer, staff):  # type: ignore[no-untyped-def]
    """An overdue urgent task and a fresh one, both Billing's, nobody assigned."""
    settings.recovery_assignment = "none"  # the answers are recorded with these settings
    agent = staff("Rita", team="Billing", password=PASSWORD)
    late = answer(n=1, score=1, comment="charged twice, I want to cancel", customer={"tier": "gold"})
    live_server.clock.advance(hours=6)  # the urgent task's 4 h first-contact window has passed
    fresh = answer(n=2, score=5, comment="slow refund")
    with Session(live_server.engine) as s:
        ids = {t.response_id: t.id for t in s.exec(select(RecoveryTask)).all()}
    return agent, ids[late.id], ids[fresh.id]


def _wait_for(browser, text):  # type: ignore[no-untyped-def]
    WebDriverWait(browser, 10).until(lambda d: text in d.page_source)


def test_claim_log_a_contact_and_resolve(live_server, browser, two_tasks):  # type: ignore[no-untyped-def]
    agent, late, fresh = two_tasks
    sign_in(browser, live_server, agent.email, PASSWORD)
    browser.get(f"{live_server.url}/queue")
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
    assert [r.get_attribute("id") for r in rows] == [f"task-{late}", f"task-{fresh}"]  # nearest first
    # Countdowns render, count from the server's clock and are kept current by queue.js.
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "queue").get_attribute("data-live") == "1")
    overdue = browser.find_element(By.CSS_SELECTOR, f"#task-{late} time[data-due]")
    assert overdue.text.startswith("overdue by 2 h") and "is-overdue" in overdue.get_attribute("class")
    assert "overdue-row" in rows[0].get_attribute("class")
    upcoming = browser.find_element(By.CSS_SELECTOR, f"#task-{fresh} time[data-due]")
    assert upcoming.text == "in 1 d 0 h" and "is-overdue" not in upcoming.get_attribute("class")

    # Claim from the queue, by keyboard: it lands on the task page.
    browser.find_element(By.CSS_SELECTOR, f"#task-{late} button").send_keys(Keys.ENTER)
    _wait_for(browser, "The task is yours.")
    assert browser.find_element(By.ID, "task-owner").text == "Rita"
    assert "charged twice" in browser.page_source and "gold" in browser.page_source

    Select(browser.find_element(By.ID, "channel")).select_by_value("call")
    Select(browser.find_element(By.ID, "result")).select_by_value("reached")
    browser.find_element(By.ID, "note").send_keys("Apologised; refund of the double charge today.")
    browser.find_element(By.ID, "log-contact").click()
    _wait_for(browser, "Contact attempt logged.")
    assert "Apologised" in browser.find_element(By.ID, "attempts").text
    assert browser.find_element(By.ID, "task-status").text == "contacted"

    Select(browser.find_element(By.ID, "outcome")).select_by_value("recovered")
    Select(browser.find_element(By.ID, "root_cause")).select_by_value("billing error")
    browser.find_element(By.ID, "resolve").click()
    _wait_for(browser, "Task resolved.")
    assert browser.find_element(By.ID, "task-status").text == "resolved"

    with Session(live_server.engine) as s:
        task = s.get(RecoveryTask, late)
        assert (task.status, task.outcome, task.root_cause, task.owner_id) == (
            "resolved", "recovered", "billing error", agent.id)
        [attempt] = s.exec(select(RecoveryContactAttempt)).all()
        assert (attempt.channel, attempt.result) == ("call", "reached")
    # Back in the queue only the fresh task is left.
    browser.get(f"{live_server.url}/queue")
    ids = [r.get_attribute("id") for r in browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")]
    assert ids == [f"task-{fresh}"]


def test_filters_live_in_the_url_and_a_refusal_is_shown(live_server, browser, two_tasks):  # type: ignore[no-untyped-def]
    agent, late, fresh = two_tasks
    sign_in(browser, live_server, agent.email, PASSWORD)
    browser.get(f"{live_server.url}/queue")
    Select(browser.find_element(By.NAME, "status")).select_by_value("overdue")
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "status=overdue" in d.current_url)
    ids = [r.get_attribute("id") for r in browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")]
    assert ids == [f"task-{late}"]
    # Resolving before any contact is refused with the reason, on the same page.
    browser.get(f"{live_server.url}/queue/{fresh}")
    Select(browser.find_element(By.ID, "outcome")).select_by_value("recovered")
    Select(browser.find_element(By.ID, "root_cause")).select_by_value("price")
    browser.find_element(By.ID, "resolve").click()
    _wait_for(browser, "log at least one contact attempt")
    assert browser.find_element(By.ID, "action-error").get_attribute("role") == "alert"


def test_the_queue_fits_a_phone_screen(live_server, browser, two_tasks):  # type: ignore[no-untyped-def]
    agent, late, _ = two_tasks
    browser.set_window_size(390, 844)
    sign_in(browser, live_server, agent.email, PASSWORD)
    browser.get(f"{live_server.url}/queue")
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    # Each task is a card with labelled lines; the claim button is a full-width tap target.
    button = browser.find_element(By.CSS_SELECTOR, f"#task-{late} button")
    assert button.size["height"] >= 44 and button.size["width"] > 250


def test_a_resolve_error_is_shown_beside_its_field_and_then_the_next_task(  # type: ignore[no-untyped-def]
        live_server, browser, two_tasks):
    agent, late, fresh = two_tasks
    sign_in(browser, live_server, agent.email, PASSWORD)
    browser.get(f"{live_server.url}/queue/{late}")
    # Nothing is preselected: the outcome is a claim the agent makes.
    outcome = Select(browser.find_element(By.ID, "outcome"))
    assert outcome.first_selected_option.get_attribute("value") == ""
    Select(browser.find_element(By.ID, "channel")).select_by_value("call")
    Select(browser.find_element(By.ID, "result")).select_by_value("reached")
    browser.find_element(By.ID, "log-contact").click()
    _wait_for(browser, "Contact attempt logged.")
    # Resolve without a root cause: the reason is printed under the root-cause field, inside
    # the resolve form, and the field is marked invalid; the note typed is kept.
    Select(browser.find_element(By.ID, "outcome")).select_by_value("recovered")
    browser.find_element(By.ID, "resolve-note").send_keys("Refund promised")
    browser.find_element(By.ID, "resolve").click()
    _wait_for(browser, "say what caused the problem")
    error = browser.find_element(By.ID, "resolved-root_cause-error")
    assert error.get_attribute("role") == "alert"
    assert error.find_element(By.XPATH, "ancestor::form").get_attribute("id") == "resolve-form"
    assert error.text == "say what caused the problem"
    field = browser.find_element(By.ID, "root_cause")
    assert field.get_attribute("aria-invalid") == "true"
    assert abs(error.location["y"] - field.location["y"]) < 120  # beside it, not at the top
    assert not browser.find_elements(By.ID, "action-error")
    assert browser.find_element(By.ID, "resolve-note").get_attribute("value") == "Refund promised"
    Select(browser.find_element(By.ID, "root_cause")).select_by_value("billing error")
    browser.find_element(By.ID, "resolve").click()
    _wait_for(browser, "Task resolved.")
    browser.find_element(By.ID, "next-task").click()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith(f"/queue/{fresh}"))
