"""`/schema` (the API docs) and `/favicon.ico` work with no network: every asset is served by the
application itself, from an installed package."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient


def test_the_api_docs_page_loads_only_local_assets(settings: Any, engine: Any, clock: Any) -> None:
    from feedback.app import create_app

    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        page = c.get("/schema")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assert len(urls) >= 4, urls  # stylesheet, two scripts, icon
        for url in urls:
            assert url.startswith("/"), f"{url} is fetched from elsewhere"
            assert c.get(url).status_code == 200, url
        assert "openapi" in c.get("/schema/openapi.json").json()
        icon = c.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
        assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
        assert c.get("/static/app.css").status_code == 200  # the app's own assets still served


def test_the_api_docs_render_in_a_browser_offline(live_server: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/schema")
    WebDriverWait(browser, 20).until(
        lambda d: "Feedback" in (d.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title")
                                 or [None])[0].text if d.find_elements(
            By.CSS_SELECTOR, ".swagger-ui .info .title") else False)
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock")  # the operations are listed
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched
    assert all(url.startswith(live_server.url) for url in fetched), fetched
