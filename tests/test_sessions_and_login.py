"""Sessions on the server and a sign-in that resists guessing (issue: access control).

Each test here failed on version 1: a saved cookie outlived sign-out, a busy cookie never
expired, fifty wrong passwords were followed by a right one being accepted, an unknown e-mail
skipped the password hash (and answered 30× faster), and passwords were hashed at 2^14.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from feedback.auth import service, sessions
from feedback.auth.models import LoginThrottle, StaffSession, User
from feedback.auth.service import create_user
from feedback.db import transaction

PASSWORD = "s3cret-pass"


def _user(engine: Any, email: str = "lead@example.com", role: str = "lead") -> int:
    with transaction(engine) as s:
        return create_user(s, email=email, name="Lena", role=role, password=PASSWORD).id  # type: ignore[return-value]


def _sign_in(client: Any, email: str = "lead@example.com", password: str = PASSWORD) -> Any:
    if "csrftoken" not in client.cookies:
        client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "_csrf_token": client.cookies["csrftoken"]},
                       follow_redirects=False)


def test_signing_out_ends_the_session_on_the_server(client: Any, engine: Any) -> None:
    _user(engine)
    assert _sign_in(client).status_code == 303
    saved = dict(client.cookies)
    assert client.get("/whoami").status_code == 200
    client.post("/logout", headers={"x-csrftoken": client.cookies["csrftoken"]})
    client.cookies.clear()
    for name, value in saved.items():  # the stolen / saved cookie, replayed
        client.cookies.set(name, value)
    assert client.get("/whoami").status_code == 401


def test_a_busy_session_still_ends_after_its_lifetime(client: Any, engine: Any, clock: Any,
                                                      settings: Any) -> None:
    _user(engine)
    _sign_in(client)
    for _ in range(int(settings.session_hours * 2) - 1):  # a request every 30 minutes
        clock.advance(minutes=30)
        assert client.get("/whoami").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/whoami").status_code == 401


def test_an_idle_session_ends(client: Any, engine: Any, clock: Any, settings: Any) -> None:
    _user(engine)
    _sign_in(client)
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert client.get("/whoami").status_code == 200  # activity restarts the idle clock
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert client.get("/whoami").status_code == 200
    clock.advance(minutes=settings.session_idle_minutes + 1)
    assert client.get("/whoami").status_code == 401


def test_signing_in_rotates_the_session(client: Any, engine: Any) -> None:
    _user(engine)
    _sign_in(client)
    first = dict(client.cookies)
    _sign_in(client)
    assert client.get("/whoami").status_code == 200
    client.cookies.clear()
    for name, value in first.items():
        client.cookies.set(name, value)
    assert client.get("/whoami").status_code == 401  # the earlier id was revoked
    with transaction(engine) as s:
        rows = s.exec(select(StaffSession)).all()
    assert len(rows) == 2 and sum(r.revoked_at is None for r in rows) == 1


def test_deactivation_revokes_every_session(client: Any, engine: Any, clock: Any) -> None:
    user_id = _user(engine)
    _sign_in(client)
    with transaction(engine) as s:
        assert sessions.revoke_all(s, user_id, clock.now) == 1
        s.get(User, user_id).active = False  # type: ignore[union-attr]
    assert client.get("/whoami").status_code == 401


def test_wrong_passwords_lock_the_account_even_against_the_right_one(
        client: Any, engine: Any, clock: Any, settings: Any) -> None:
    _user(engine)
    for _ in range(settings.login_free_failures_account - 1):
        assert _sign_in(client, password="wrong-password").status_code == 401
    locked = _sign_in(client, password="wrong-password")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    assert int(locked.headers["retry-after"]) == 2
    assert _sign_in(client).status_code == 429  # the right password waits too
    clock.advance(seconds=3)
    assert _sign_in(client, password="wrong-password").status_code == 429
    # every further failure doubles the wait
    assert int(_sign_in(client).headers["retry-after"]) == 4
    clock.advance(seconds=5)
    assert _sign_in(client).status_code == 303  # then the right one gets in, and resets
    with transaction(engine) as s:
        kinds = {r.kind for r in s.exec(select(LoginThrottle)).all()}
    assert kinds == {"ip"}


def test_an_unknown_email_is_throttled_like_a_known_one(client: Any, engine: Any,
                                                        settings: Any) -> None:
    _user(engine)
    statuses = [_sign_in(client, email="nobody@example.com", password="x" * 9).status_code
                for _ in range(settings.login_free_failures_account + 1)]
    assert statuses[-2:] == [429, 429] and statuses[0] == 401


def test_the_throttle_is_shared_by_every_process(app: Any, settings: Any, engine: Any,
                                                 clock: Any) -> None:
    """Two app instances (two web processes) on one database count the same failures."""
    from feedback.app import create_app

    _user(engine)
    other = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver.local") as a, \
            TestClient(other, base_url="http://testserver.local") as b:
        for i in range(settings.login_free_failures_account - 1):
            assert _sign_in(a if i % 2 else b, password="wrong-password").status_code == 401
        assert _sign_in(a, password="wrong-password").status_code == 429
        assert _sign_in(b).status_code == 429


def test_many_addresses_from_one_client_are_throttled_per_address(
        client: Any, engine: Any, settings: Any) -> None:
    settings.login_free_failures_ip = 3
    statuses = [_sign_in(client, email=f"guess{i}@example.com", password="x" * 9).status_code
                for i in range(5)]
    assert statuses == [401, 401, 429, 429, 429]


def test_an_unknown_email_costs_one_password_hash_like_a_known_one(
        client: Any, engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No timing: count the scrypt runs, which are what took the time."""
    _user(engine)
    calls = []
    real = service._scrypt
    monkeypatch.setattr(service, "_scrypt", lambda *a, **k: calls.append(1) or real(*a, **k))
    _sign_in(client, email="lead@example.com", password="wrong-password")
    known = len(calls)
    _sign_in(client, email="nobody@example.com", password="wrong-password")
    assert known == 1 and len(calls) - known == 1


def test_passwords_are_hashed_at_current_guidance_by_default(monkeypatch: Any) -> None:
    from feedback.settings import Settings

    monkeypatch.delenv("FEEDBACK_PASSWORD_SCRYPT_LOG_N")
    assert Settings().password_scrypt_log_n >= 17
    stored = service.hash_password(PASSWORD, log_n=17)
    assert stored.startswith("scrypt$ln=17,r=8,p=1$")
    assert service.verify_password(PASSWORD, stored)
    assert not service.verify_password("wrong-password", stored)


def test_an_old_hash_is_upgraded_at_the_next_sign_in(client: Any, engine: Any) -> None:
    user_id = _user(engine)
    salt = secrets.token_bytes(16)
    v1 = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    with transaction(engine) as s:
        s.get(User, user_id).password_hash = f"scrypt${salt.hex()}${v1.hex()}"  # type: ignore[union-attr]
    assert _sign_in(client).status_code == 303
    with transaction(engine) as s:
        stored = s.get(User, user_id).password_hash  # type: ignore[union-attr]
    assert stored.startswith("scrypt$ln=8,")  # the configured (test) cost
    client.cookies.clear()
    assert _sign_in(client).status_code == 303
