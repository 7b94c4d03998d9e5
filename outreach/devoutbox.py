"""The development outbox's storage: a table staff can read at /outbox (and GET /api/outbox).

Each recorded message is written in its own short transaction, so it is visible at once and
survives whatever happens to the dispatcher's batch. The store also answers `find_sent` like a
real provider's history does, so crash recovery works the same against the dev transport.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.channels.base import OutboundMessage
from outreach.channels.dev import DevTransport
from outreach.models import DevOutboxMessage
from surveys.types import utcnow

_T = DevOutboxMessage.__table__  # type: ignore[attr-defined]


class DevOutboxStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def __call__(self, msg: OutboundMessage, provider_id: str) -> None:
        """The `DevSink`: record one message."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(_T).values(
                provider_id=provider_id, channel=msg.channel, to=msg.to[:320],
                subject=(msg.subject or "")[:300] or None, body=msg.body, html=msg.html,
                headers=dict(msg.headers), marker=(msg.marker or "")[:100] or None,
                created_at=self.clock()))

    def find_sent(self, to: str, since: datetime, marker: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(_T.c.provider_id)
                .where(_T.c.to == to, _T.c.marker == marker, _T.c.created_at >= since)
                .order_by(_T.c.id).limit(1)).scalar()


class ReconcilingDevTransport(DevTransport):
    """The dev transport writing to a `DevOutboxStore`, searchable like a provider's history."""

    def __init__(self, name: str, store: DevOutboxStore) -> None:
        super().__init__(name, store)  # type: ignore[arg-type]
        self.store = store

    def find_sent(self, to: str, since: datetime, marker: str) -> str | None:
        return self.store.find_sent(to, since, marker)


def recent(session: Session, *, limit: int = 100, channel: str | None = None,
           to: str | None = None) -> list[DevOutboxMessage]:
    stmt = select(DevOutboxMessage)
    if channel:
        stmt = stmt.where(DevOutboxMessage.channel == channel)
    if to:
        stmt = stmt.where(DevOutboxMessage.to == to)
    order = DevOutboxMessage.id.desc()  # type: ignore[union-attr]
    return list(session.exec(stmt.order_by(order).limit(limit)).all())
