"""Security headers, and customer text that cannot reorder the page around it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from feedback.db import transaction
from feedback.responses import record_response
from tests.factories import make_invitation
from tests.support.followups import run_followups

TEMPLATES = Path(__file__).parents[1] / "feedback" / "templates"


def test_every_page_gets_a_strict_policy(client: Any) -> None:
    for path in ("/login", "/health", "/static/app.css", "/api/kpis"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp, path
        assert "frame-ancestors 'none'" in csp and "https:" not in csp, path
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in h  # the test server is plain http


def test_pages_that_carry_a_token_send_no_referrer(client: Any, engine: Any, settings: Any,
                                                  clock: Any) -> None:
    with transaction(engine) as s:
        token = make_invitation(s, settings, clock.now).token
    r = client.get(f"/s/{token}")
    assert r.status_code == 200 and r.headers["referrer-policy"] == "no-referrer"
    assert client.get("/u/whatever").headers["referrer-policy"] == "no-referrer"


def test_hsts_when_the_public_url_is_https(settings: Any, engine: Any, clock: Any) -> None:
    from litestar.testing import TestClient

    from feedback.app import create_app

    settings.public_url = "https://feedback.example.com"
    with TestClient(create_app(settings, engine=engine, clock=clock),
                    base_url="https://feedback.example.com") as c:
        assert "max-age=" in c.get("/login").headers["strict-transport-security"]


def test_templates_have_no_inline_script_or_style() -> None:
    """What the policy would block: <script> without src, <style>, style= and on…= attributes."""
    bad = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)", r"<style", r"\sstyle=", r"\son[a-z]+="):
            if re.search(pattern, text):
                bad.append(f"{path.relative_to(TEMPLATES)}: {pattern}")
    assert not bad, bad


def test_a_right_to_left_override_in_a_name_stays_inside_its_name(
        client: Any, engine: Any, settings: Any, clock: Any) -> None:
    """U+202E in a customer's name reversed everything after it on the staff pages."""
    evil = "Eve \u202eevil"
    with transaction(engine) as s:
        inv = make_invitation(s, settings, clock.now, customer={"name": evil})
        record_response(s, inv, score=0, comment="bad \u202e service", source="web",
                        now=clock.now, settings=settings)
    run_followups(engine, settings, clock)  # the detractor's task opens after commit
    api = {"authorization": "Bearer test-admin-key"}
    task_id = client.get("/api/recovery/tasks", headers=api).json()["items"][0]["id"]
    from feedback.auth.service import create_user
    from tests.recovery.conftest import sign_in
    with transaction(engine) as s:
        create_user(s, email="admin@example.com", name="Ada", role="admin", password="s3cret-pass")
    sign_in(client, "admin@example.com")
    for page in ("/queue", f"/queue/{task_id}", f"/customers/{inv.customer_id}/contact-log"):
        html = client.get(page).text
        assert evil in html, page
        for at in [m.start() for m in re.finditer(re.escape(evil), html)]:
            before = html[:at]
            # every occurrence sits inside an isolating element (in an attribute: between
            # U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE)
            assert before.endswith("\u2068") or before.rfind("<bdi>") > before.rfind(
                "</bdi>") or re.search(
                r'dir="auto"[^>]*>[^<]*$', before), (page, html[at - 80:at + 40])
