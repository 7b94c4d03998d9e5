"""Integration tests: a real local receiver, endpoints made through the API, and a helper that
runs the outbox worker until nothing is left to do now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from feedback.notifications.delivery import deliver_due
from feedback.notifications.models import Notification
from tests.recovery.conftest import answer, api_key, staff  # noqa: F401  (shared builders)
from tests.support.receiver import Receiver


@pytest.fixture
def settings(settings: Any) -> Any:
    settings.webhooks_allow_private = True  # the receiver is on 127.0.0.1
    settings.notification_retry_seconds = 30
    return settings


@pytest.fixture
def deliver(engine: Any, settings: Any, clock: Any) -> Callable[[], int]:
    """Run delivery passes until one does nothing; returns how many were sent."""
    def run() -> int:
        sent = 0
        for _ in range(200):
            r = deliver_due(engine, settings, clock, worker="test-worker", limit=20)
            sent += r.sent
            if r.sent + r.retried + r.failed == 0:
                return sent
        raise AssertionError("delivery did not settle")
    return run


@pytest.fixture
def endpoint(api: Any, receiver: Receiver) -> Callable[..., dict[str, Any]]:
    def make(types: list[str] | None = None, path: str = "/hook", kind: str = "webhook") -> dict[str, Any]:
        r = api.post("/api/integrations/endpoints", json={
            "name": f"{kind} {path}", "url": receiver.url(path), "kind": kind,
            "event_types": types or ["*"]})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]
    return make


def event_rows(engine: Any) -> list[Notification]:
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.kind == "event")
                           .order_by(Notification.id)).all())  # type: ignore[arg-type]
