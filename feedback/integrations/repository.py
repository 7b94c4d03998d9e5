"""Queries of integrations: endpoints and their delivery log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.integrations.models import WebhookAttempt, WebhookEndpoint
from feedback.notifications.models import Notification
from surveys.errors import NotFound


def endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.exec(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all())  # type: ignore[arg-type]


def endpoint(session: Session, endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.exec(stmt).first()
    if found is None:
        raise NotFound(f"endpoint {endpoint_id} not found", code="unknown_endpoint")
    return found


def deliveries(session: Session, endpoint_id: int, *, status: str | None = None,
               limit: int = 50) -> list[tuple[Notification, list[WebhookAttempt]]]:
    """The endpoint's newest deliveries, each with its attempts (two queries)."""
    stmt = select(Notification).where(Notification.endpoint_id == endpoint_id)
    if status:
        stmt = stmt.where(Notification.status == status)
    notes = list(session.exec(stmt.order_by(Notification.id.desc()).limit(limit)).all())  # type: ignore[union-attr]
    by_note: dict[int, list[WebhookAttempt]] = {}
    if notes:
        rows = session.exec(select(WebhookAttempt).where(
            WebhookAttempt.notification_id.in_([n.id for n in notes]))  # type: ignore[attr-defined]
            .order_by(WebhookAttempt.id)).all()  # type: ignore[arg-type]
        for a in rows:
            by_note.setdefault(a.notification_id, []).append(a)
    return [(n, by_note.get(int(n.id or 0), [])) for n in notes]


def counts(session: Session, endpoint_id: int) -> dict[str, Any]:
    t = Notification.__table__  # type: ignore[attr-defined]
    rows = session.execute(sa.select(t.c.status, sa.func.count()).where(
        t.c.endpoint_id == endpoint_id).group_by(t.c.status)).all()
    return {str(s): int(c) for s, c in rows}
