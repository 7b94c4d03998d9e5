"""The authorization matrix: every route of the app (API, pages, webhooks, static files, the
OpenAPI document) × every kind of caller, against the permission table.

A route whose handler declares no action (`guards=[allow("…")]`) fails here, so nothing new
can be added without deciding who may call it. The Why-bullets of the access-control issue have
their own tests below, with expectations written out rather than read from the table.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from feedback.auth import permissions
from feedback.auth.models import User
from feedback.auth.service import create_api_key, create_user
from feedback.db import transaction

PASSWORD = "s3cret-pass"
CALLERS = ("anonymous", "ingest", "recovery", "lead", "admin", "deactivated")


def _concrete(path: str) -> str:
    """A path template with its parameters filled in with ids that exist nowhere."""
    path = re.sub(r"\{[^}:]+:int\}", "999999", path)
    path = re.sub(r"\{[^}:]+:path\}", "app.css", path)
    return re.sub(r"\{[^}:]+(:str)?\}", "no-such-thing", path)


def all_routes(app: Any) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path, handler))
    # Signing out really ends the session now: walk it last.
    return sorted(found, key=lambda r: r[1] == "/logout")


def action_of(handler: Any) -> str:
    actions = permissions.actions_of(handler)
    assert len(actions) == 1, (
        f"{handler.handler_name or handler} ({sorted(handler.paths)}) must declare exactly one "
        f"action with guards=[allow(...)] from feedback/auth/permissions.py; found {actions}")
    return actions[0]


class Callers:
    """One signed-in session or API key per kind of caller, swapped into one test client."""

    def __init__(self, client: Any, engine: Any) -> None:
        self.client = client
        self.keys: dict[str, str] = {}
        self.cookies: dict[str, dict[str, str]] = {}
        with transaction(engine) as s:
            for role in ("recovery", "lead", "admin"):
                create_user(s, email=f"{role}@example.com", name=role.title(), role=role,
                            password=PASSWORD, team="Billing" if role == "recovery" else None)
                self.keys[role] = create_api_key(s, f"{role} key", role,
                                                 team="Billing" if role == "recovery" else None)[1]
            self.keys["ingest"] = create_api_key(s, "helpdesk", "ingest")[1]
            create_user(s, email="gone@example.com", name="Gone", role="lead", password=PASSWORD)
        for role in ("recovery", "lead", "admin", "deactivated"):
            self.cookies[role] = self.sign_in("gone@example.com" if role == "deactivated"
                                              else f"{role}@example.com")
        self.cookies["anonymous"] = self.sign_in(None)
        with transaction(engine) as s:
            gone = s.exec(User.__table__.select().where(User.email == "gone@example.com")).first()
            s.get(User, gone.id).active = False

    def sign_in(self, email: str | None) -> dict[str, str]:
        self.client.cookies.clear()
        self.client.get("/login")
        if email:
            r = self.client.post("/login", data={"email": email, "password": PASSWORD,
                                                 "_csrf_token": self.client.cookies["csrftoken"]},
                                 follow_redirects=False)
            assert r.status_code == 303, r.text
        return dict(self.client.cookies)

    def request(self, caller: str, method: str, path: str) -> Any:
        self.client.cookies.clear()
        headers = {"accept": "application/json"}
        # Programs use keys (API writes refuse a cookie alone); people use their session.
        if caller == "ingest" or (caller in self.keys and path.startswith("/api/")):
            headers["authorization"] = f"Bearer {self.keys[caller]}"
        cookies = self.cookies.get(caller, self.cookies["anonymous"])
        if "authorization" not in headers or caller == "ingest":
            for name, value in cookies.items():
                self.client.cookies.set(name, value)
            headers["x-csrftoken"] = cookies.get("csrftoken", "")
        return self.client.request(method, path, headers=headers, follow_redirects=False)


@pytest.fixture
def callers(client: Any, engine: Any) -> Callers:
    return Callers(client, engine)


def test_every_route_declares_an_action_in_the_table(app: Any) -> None:
    routes = all_routes(app)
    assert len(routes) > 50
    for _, _, handler in routes:
        assert action_of(handler) in permissions.TABLE


def test_every_route_answers_every_caller_as_the_table_says(app: Any, callers: Callers) -> None:
    wrong = []
    for method, template, handler in all_routes(app):
        action = action_of(handler)
        path = _concrete(template)
        for caller in CALLERS:
            role = "anonymous" if caller == "deactivated" else caller
            status = callers.request(caller, method, path).status_code
            if action == "public.login" and (method, template) == ("POST", "/login"):
                # the form's own "wrong e-mail or password", then its throttle (one address)
                ok = status in (401, 429)
            elif action == "public.webhook":
                ok = status == 403  # Twilio's signature is missing, whoever calls
            elif permissions.allows(role, action):
                ok = status not in (401, 403) and status < 500
            else:
                ok = status == (401 if role == "anonymous" else 403)
            if not ok:
                wrong.append(f"{caller:11} {method:6} {template} ({action}) -> {status}")
    assert not wrong, "\n".join(wrong)


def test_a_handler_without_an_action_fails_the_walk(app: Any) -> None:
    from litestar import Litestar, get

    @get("/forgotten", sync_to_thread=False)
    def forgotten() -> str:
        return "x"

    bare = Litestar(route_handlers=[forgotten])
    with pytest.raises(AssertionError, match="must declare exactly one action"):
        for _, _, handler in all_routes(bare):
            action_of(handler)


def test_the_readme_documents_the_table() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert permissions.markdown_table() in readme, (
        "README's permission table is out of date: paste "
        "`python -c 'from feedback.auth.permissions import markdown_table; "
        "print(markdown_table())'`")


# --- The Why-bullets of the issue, expectations written out ----------------------------------


def _customer(engine: Any, settings: Any, clock: Any, n: int, team: str) -> int:
    from tests.factories import make_invitation

    with transaction(engine) as s:
        return make_invitation(s, settings, clock.now, n=n, team=team).customer_id


def test_only_admins_read_the_dev_outbox(callers: Callers) -> None:
    """A recovery agent read other teams' survey links there and answered as the customer."""
    for caller, expected in (("recovery", 403), ("lead", 403), ("ingest", 403),
                             ("anonymous", 401), ("admin", 200)):
        assert callers.request(caller, "GET", "/api/outbox").status_code == expected, caller
        assert callers.request(caller, "GET", "/outbox").status_code == expected, caller


def test_customer_data_follows_team_scope(callers: Callers, engine: Any, settings: Any,
                                          clock: Any) -> None:
    billing = _customer(engine, settings, clock, 1, "Billing")
    sales = _customer(engine, settings, clock, 2, "Sales")
    for path in ("/api/customers/{}/contact-log", "/customers/{}/contact-log"):
        # the Billing agent: their customer yes, a Sales customer no (as if it did not exist)
        assert callers.request("recovery", "GET", path.format(billing)).status_code == 200
        assert callers.request("recovery", "GET", path.format(sales)).status_code == 404
        # leads without a team and admins: everyone
        assert callers.request("lead", "GET", path.format(sales)).status_code == 200
        assert callers.request("admin", "GET", path.format(sales)).status_code == 200
    with transaction(engine) as s:
        key = create_api_key(s, "sales lead", "lead", team="Sales")[1]
    callers.keys["sales-lead"] = key
    assert callers.request("sales-lead", "GET",
                           f"/api/customers/{billing}/contact-log").status_code == 404
    assert callers.request("sales-lead", "GET",
                           f"/api/customers/{sales}/contact-log").status_code == 200


def test_kpis_are_for_leads_like_the_reports(callers: Callers) -> None:
    assert callers.request("recovery", "GET", "/api/kpis").status_code == 403
    assert callers.request("recovery", "GET", "/api/reports/dashboard").status_code == 403
    assert callers.request("lead", "GET", "/api/kpis").status_code == 200


def test_a_team_lead_sees_only_their_teams_figures(callers: Callers, engine: Any,
                                                   settings: Any, clock: Any) -> None:
    with transaction(engine) as s:
        callers.keys["sales-lead"] = create_api_key(s, "sales lead", "lead", team="Sales")[1]
    r = callers.request("sales-lead", "GET", "/api/kpis")
    assert r.status_code == 200 and r.json()["filters"]["team"] == "Sales"
    assert callers.request("sales-lead", "GET", "/api/kpis?team=Billing").status_code == 403
    assert callers.request("sales-lead", "GET",
                           "/api/reports/dashboard?team=Billing").status_code == 403
    r = callers.request("sales-lead", "GET", "/api/reports/dashboard")
    assert r.status_code == 200


def test_an_ingest_key_writes_interactions_and_nothing_else(callers: Callers) -> None:
    from tests.factories import interaction_payload

    r = callers.client.post("/api/interactions", json=interaction_payload(7),
                            headers={"authorization": f"Bearer {callers.keys['ingest']}"})
    assert r.status_code == 201, r.text
    for path in ("/api/reports/export/responses", "/api/kpis", "/api/recovery/tasks",
                 "/api/opt-outs", "/api/themes", "/whoami", "/queue"):
        assert callers.request("ingest", "GET", path).status_code == 403, path
