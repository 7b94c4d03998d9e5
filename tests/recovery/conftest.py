"""Builders for recovery tests: staff, API keys and answered surveys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session

from feedback.auth.models import User
from feedback.auth.service import create_api_key, create_user
from feedback.db import transaction
from feedback.responses import record_response
from surveys.models import Response
from tests.factories import make_invitation
from tests.support.followups import run_followups


@pytest.fixture
def staff(engine: Any) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, role: str = "recovery", team: str | None = None,
             available: bool = True, active: bool = True, password: str | None = None) -> User:
        n = next(counter)
        with transaction(engine) as s:
            user = create_user(s, email=f"staff{n}@example.com", name=name or f"Staff {n}",
                               role=role, team=team, password=password)
            user.available, user.active = available, active
            s.add(user)
        return user

    return make


@pytest.fixture
def api_key(engine: Any) -> Callable[..., dict[str, str]]:
    def make(role: str = "recovery", team: str | None = None) -> dict[str, str]:
        with transaction(engine) as s:
            _, key = create_api_key(s, f"{role}-{team}", role, team)
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture
def answer(session: Session, settings: Any, clock: Any, engine: Any) -> Callable[..., Response]:
    """answer(n, score, comment=None, survey="nps", **interaction fields) → a committed Response,
    its follow-ups run (themes, event, recovery task), as the worker does seconds later."""
    def make(n: int = 1, score: int = 3, comment: str | None = None, survey: str = "nps",
             **over: Any) -> Response:
        inv = make_invitation(session, settings, clock.now, n=n, survey=survey, **over)
        response = record_response(session, inv, score=score, comment=comment, source="web",
                                   now=clock.now, settings=settings)
        session.commit()
        run_followups(engine, settings, clock)
        return response

    return make


def sign_in(client: Any, email: str, password: str = "s3cret-pass") -> None:
    """Sign a TestClient in through the login form (with its CSRF token)."""
    client.get("/login")
    token = client.cookies.get("csrftoken")
    r = client.post("/login", data={"email": email, "password": password, "_csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
