"""Real browser (Debian chromium): sign-in throttling as a person sees it, and an admin
inviting someone on the users page, who then sets a password through the one-time link —
all under the strict Content-Security-Policy."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from feedback.auth.service import create_user
from feedback.db import transaction
from tests.support.browser import sign_in

PASSWORD = "s3cret-pass"


def _submit_login(driver: Any, url: str, email: str, password: str) -> str:
    driver.get(f"{url}/login")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "return document.readyState") == "complete")
    alerts = driver.find_elements(By.CSS_SELECTOR, "[role=alert]")
    return alerts[0].text if alerts else ""


def test_sign_in_throttling_tells_the_person_how_long_to_wait(live_server: Any,
                                                              browser: Any) -> None:
    with transaction(live_server.engine) as s:
        create_user(s, email="lead@example.com", name="Lena", role="lead", password=PASSWORD)
    free = live_server.settings.login_free_failures_account
    for _ in range(free - 1):
        assert _submit_login(browser, live_server.url, "lead@example.com", "wrong-one") == (
            "Wrong email or password.")
    message = _submit_login(browser, live_server.url, "lead@example.com", "wrong-one")
    assert message == "Too many failed sign-ins. Try again in 2 second(s)."
    # the right password is refused while locked, with the same message
    assert "Too many failed sign-ins" in _submit_login(browser, live_server.url,
                                                       "lead@example.com", PASSWORD)
    live_server.clock.advance(seconds=5)
    assert _submit_login(browser, live_server.url, "lead@example.com", PASSWORD) == ""
    assert "/login" not in browser.current_url


def test_an_admin_invites_someone_who_sets_their_own_password(live_server: Any,
                                                              browser: Any) -> None:
    with transaction(live_server.engine) as s:
        create_user(s, email="admin@example.com", name="Ada", role="admin", password=PASSWORD)
    sign_in(browser, live_server, "admin@example.com", PASSWORD)
    browser.get(f"{live_server.url}/users")
    assert browser.find_element(By.CSS_SELECTOR, "nav a[href='/users']")
    form = browser.find_element(By.ID, "invite")
    form.find_element(By.NAME, "email").send_keys("rita@example.com")
    form.find_element(By.NAME, "name").send_keys("Rita \u202eReyes")
    form.find_element(By.NAME, "team").send_keys("Billing")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    link = browser.find_element(By.CSS_SELECTOR, "#one-time-link input").get_attribute("value")
    assert "/account/password/" in link
    row = browser.find_element(By.XPATH, "//table[@id='users']//tr[contains(., 'rita@')]")
    assert row.find_element(By.TAG_NAME, "bdi").text.startswith("Rita")
    browser.find_element(By.CSS_SELECTOR, "nav form button").click()  # sign out
    WebDriverWait(browser, 10).until(lambda d: "/login" in d.current_url)
    browser.get(link)
    browser.find_element(By.NAME, "password").send_keys("rita-password")
    browser.find_element(By.NAME, "confirm").send_keys("rita-password")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "/login" in d.current_url)
    sign_in(browser, live_server, "rita@example.com", "rita-password")
    assert "Recovery queue" in browser.page_source and "Users" not in browser.find_element(
        By.CSS_SELECTOR, "nav").text
