"""Real-browser tests: the app served by uvicorn on loopback and driven by headless Chromium.

`live_server` serves `create_app` over the test's own (migrated, emptied) database and settable
clock, so a test can seed rows with the `session` fixture and then look at them in a browser.
`browser` is a Selenium Chrome driver using Debian's `chromium` and `chromium-driver`. When they
are missing the browser tests are skipped locally and fail in CI (CI=true), which installs them.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@dataclass
class LiveServer:
    url: str
    settings: Any
    engine: Any
    clock: Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(settings: Any, engine: Any, clock: Any) -> Iterator[LiveServer]:
    import uvicorn

    from feedback.app import create_app

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    live_settings = settings.model_copy(update={"public_url": url})
    app = create_app(live_settings, engine=engine, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=url, settings=live_settings, engine=engine, clock=clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        message = "headless Chromium needs the Debian packages chromium and chromium-driver"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-test-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The flags that keep Chromium off the (closed) network and quiet as root in a container.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(driver: Any, server: LiveServer, email: str, password: str) -> None:
    """Sign in through the real login form (session cookie + CSRF token, as a person would)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{server.url}/login")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit], form input[type=submit]").click()
    # Wait for the redirect away from /login: a page opened before the session cookie arrives
    # would be the login page again.
    WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)
