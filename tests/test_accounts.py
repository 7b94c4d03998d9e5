"""Managing access without SQL (issue: access control): invitations and password resets by
one-time link, deactivation that ends sessions, role/team/availability, API keys shown once,
expiring and revocable, and the audit log of all of it (PII exports included)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import select

from feedback.auth.models import ApiKey
from feedback.auth.service import create_user
from feedback.db import transaction

ADMIN = {"authorization": "Bearer test-admin-key"}


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def _set_password(client: Any, link: str, password: str = "n3w-password") -> Any:
    path = "/account/password/" + _token(link)
    client.get(path)
    return client.post(path, data={"password": password, "confirm": password,
                                   "_csrf_token": client.cookies["csrftoken"]},
                       follow_redirects=False)


def _sign_in(client: Any, email: str, password: str = "n3w-password") -> int:
    client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "_csrf_token": client.cookies["csrftoken"]},
                       follow_redirects=False).status_code


def test_invite_by_one_time_link(client: Any) -> None:
    r = client.post("/api/users", json={"email": "Rita@Example.com", "name": "Rita",
                                        "role": "recovery", "team": "Billing"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["has_password"] is False and body["link"].startswith(
        "http://testserver.local/account/password/")
    page = client.get("/account/password/" + _token(body["link"]))
    assert page.status_code == 200 and "Rita" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert _set_password(client, body["link"]).status_code == 303
    assert _set_password(client, body["link"]).status_code == 404  # one time only
    assert _sign_in(client, "rita@example.com") == 303
    assert client.get("/whoami").json() == {"name": "Rita", "role": "recovery",
                                            "team": "Billing", "via": "session"}


def test_reset_links_expire_and_end_sessions(client: Any, engine: Any, clock: Any,
                                             settings: Any) -> None:
    with transaction(engine) as s:
        uid = create_user(s, email="l@example.com", name="L", role="lead",
                          password="old-password").id
    late = client.post(f"/api/users/{uid}/reset-link", headers=ADMIN).json()["link"]
    clock.advance(hours=settings.account_link_hours + 1)
    assert _set_password(client, late).status_code == 404
    assert _sign_in(client, "l@example.com", "old-password") == 303
    link = client.post(f"/api/users/{uid}/reset-link", headers=ADMIN).json()["link"]
    assert client.get("/whoami").status_code == 200
    assert _set_password(client, link).status_code == 303
    assert client.get("/whoami").status_code == 401  # the old session ended
    assert _sign_in(client, "l@example.com", "old-password") == 401
    assert _sign_in(client, "l@example.com") == 303


def test_deactivation_and_reactivation(client: Any, engine: Any) -> None:
    with transaction(engine) as s:
        uid = create_user(s, email="r@example.com", name="R", role="recovery",
                          password="n3w-password").id
    assert _sign_in(client, "r@example.com") == 303
    r = client.patch(f"/api/users/{uid}", json={"active": False}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/whoami").status_code == 401
    assert _sign_in(client, "r@example.com") == 401
    client.patch(f"/api/users/{uid}", json={"active": True}, headers=ADMIN)
    assert _sign_in(client, "r@example.com") == 303


def test_role_team_and_availability(client: Any, engine: Any) -> None:
    with transaction(engine) as s:
        uid = create_user(s, email="r@example.com", name="R", role="recovery").id
    r = client.patch(f"/api/users/{uid}", json={"role": "lead", "team": "Sales",
                                                "available": False}, headers=ADMIN)
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("role", "team", "available")} == {
        "role": "lead", "team": "Sales", "available": False}
    bad = client.patch(f"/api/users/{uid}", json={"role": "ingest"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["field"] == "role"
    assert client.patch("/api/users/999", json={}, headers=ADMIN).status_code == 404


def test_api_keys_are_shown_once_stored_hashed_expire_and_revoke(
        client: Any, engine: Any, clock: Any) -> None:
    expires = clock.advance(hours=0).replace(microsecond=0).isoformat()
    r = client.post("/api/api-keys", json={"name": "helpdesk", "role": "ingest",
                                           "expires_at": clock.now.replace(year=2027).isoformat()},
                    headers=ADMIN)
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    listed = client.get("/api/api-keys", headers=ADMIN).json()["api_keys"]
    assert key not in str(listed) and listed[0]["role"] == "ingest" and listed[0]["active"]
    with transaction(engine) as s:
        row = s.exec(select(ApiKey)).one()
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest() and key not in str(row)
    mine = {"authorization": f"Bearer {key}"}
    assert client.get("/api/kpis", headers=mine).status_code == 403  # ingest only
    assert client.post("/api/interactions", json={}, headers=mine).status_code == 422
    assert client.post("/api/api-keys", json={"name": "past", "expires_at": expires},
                       headers=ADMIN).status_code == 422
    clock.now = clock.now.replace(year=2027, month=6)
    assert client.post("/api/interactions", json={}, headers=mine).status_code == 401
    other = client.post("/api/api-keys", json={"name": "bi", "role": "lead"},
                        headers=ADMIN).json()
    theirs = {"authorization": f"Bearer {other['key']}"}
    assert client.get("/api/kpis", headers=theirs).status_code == 200
    assert client.post(f"/api/api-keys/{other['id']}/revoke", headers=ADMIN).status_code == 200
    assert client.get("/api/kpis", headers=theirs).status_code == 401


def test_every_change_and_every_pii_export_is_in_the_audit_log(client: Any) -> None:
    client.post("/api/users", json={"email": "a@example.com", "name": "A"}, headers=ADMIN)
    key = client.post("/api/api-keys", json={"name": "k", "role": "lead"}, headers=ADMIN).json()
    client.post(f"/api/api-keys/{key['id']}/revoke", headers=ADMIN)
    key2 = client.post("/api/api-keys", json={"name": "exporter", "role": "lead"},
                       headers=ADMIN).json()["key"]
    r = client.get("/api/reports/export/responses", headers={"authorization": f"Bearer {key2}"})
    assert r.status_code == 200
    events = client.get("/api/audit", headers=ADMIN).json()["events"]
    actions = [e["action"] for e in events]
    assert actions[:5] == ["export.responses", "apikey.create", "apikey.revoke", "apikey.create",
                           "user.invite"]
    assert events[0]["actor"] == "API key exporter" and events[0]["ip"] == "testclient"
    assert events[4]["actor"] == "API key bootstrap admin key"
    csv = client.get("/api/audit/export", headers=ADMIN)
    assert csv.status_code == 200 and "user.invite" in csv.text
    assert client.get("/api/audit", headers={"authorization": f"Bearer {key2}"}).status_code == 403


def test_the_users_page_invites_and_deactivates(client: Any, engine: Any) -> None:
    with transaction(engine) as s:
        create_user(s, email="admin@example.com", name="Ada", role="admin", password="n3w-password")
        uid = create_user(s, email="x@example.com", name="Xe", role="recovery").id
    assert _sign_in(client, "admin@example.com") == 303
    page = client.get("/users")
    assert page.status_code == 200 and "Xe" in page.text
    csrf = {"_csrf_token": client.cookies["csrftoken"]}
    r = client.post("/users", data={"email": "new@example.com", "name": "Nia", "role": "lead",
                                    **csrf})
    assert r.status_code == 200 and "/account/password/" in r.text
    r = client.post(f"/users/{uid}", data={"active": "false", **csrf})
    assert r.status_code == 200 and "deactivated" in r.text
    r = client.post("/users", data={"email": "new@example.com", "name": "Nia", "role": "lead",
                                    **csrf})
    assert r.status_code == 422 and "already exists" in r.text
    r = client.post("/api-keys", data={"name": "desk", "role": "ingest", **csrf})
    assert r.status_code == 200 and "fbk_" in r.text
    assert "user.deactivate" in client.get("/audit").text


def test_the_command_line_invites_with_a_link_not_a_password(engine: Any, db_url: str,
                                                             monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from feedback.cli import app

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", db_url)
    monkeypatch.setenv("FEEDBACK_SECRET_KEY", "x" * 32)
    result = CliRunner().invoke(app, ["users", "invite", "cli@example.com", "Cleo",
                                      "--role", "lead", "--team", "Sales"])
    assert result.exit_code == 0, result.output
    assert "/account/password/" in result.output.strip().splitlines()[-1]
    with transaction(engine) as s:
        from feedback.auth.models import User
        user = s.exec(select(User).where(User.email == "cli@example.com")).one()
        assert user.password_hash is None and user.team == "Sales"
