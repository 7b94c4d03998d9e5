"""Writing to the outbox and claiming from it. Plain SQL that works on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from feedback.notifications.models import (
    SENT_KINDS,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from surveys.errors import ValidationFailed
from surveys.sql import insert_ignore

_N = Notification.__table__  # type: ignore[attr-defined]


def notification(*, kind: str, target: str, dedupe_key: str, now: datetime,
                 subject: str | None = None, body: str | None = None,
                 payload: dict[str, Any] | None = None,
                 send_at: datetime | None = None) -> dict[str, Any]:
    """One outbox row, checked, ready for `enqueue_many`."""
    kind = NotificationKind(kind).value
    if not target:
        raise ValidationFailed("a notification needs a target", field="target")
    return {
        "kind": kind, "target": target[:1000], "subject": (subject or "")[:300] or None,
        "body": body, "payload": payload or {}, "dedupe_key": dedupe_key[:300],
        "status": NotificationStatus.PENDING.value, "attempts": 0,
        "next_attempt_at": send_at or now, "created_at": now,
    }


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> int:
    """Queue rows in the caller's transaction, one statement for all; a row whose dedupe key
    exists already (sent or not) is skipped. Returns how many were new."""
    if not rows:
        return 0
    unique = list({r["dedupe_key"]: r for r in rows}.values())  # one statement, one row per key
    return insert_ignore(session, _N, unique, ["dedupe_key"])


def enqueue(session: Session, **fields: Any) -> bool:
    """Queue one notification (see `notification` for the fields). Idempotent on
    `dedupe_key`: returns False (and changes nothing) when it exists already."""
    return enqueue_many(session, [notification(**fields)]) == 1


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    target: str
    subject: str | None
    body: str | None
    payload: dict[str, Any]
    attempts: int  # including this one
    dedupe_key: str
    created_at: datetime | None = None
    endpoint_id: int | None = None  # event deliveries (feedback/integrations)


def claim_due(conn: Connection, *, now: datetime, worker: str, lease: timedelta,
              limit: int, kinds: Sequence[str] = SENT_KINDS) -> list[Claimed]:
    """Atomically take up to `limit` due rows of `kinds`: pending ones whose retry time has
    come and sending ones whose worker's lease ran out. Each claim bumps `attempts` and sets a
    lease, so a worker that dies mid-send gives its rows back when the lease ends.

    Rows with an `ordering_key` (event deliveries: endpoint + subject) go one at a time, oldest
    first: a row waits while an earlier row of its key is pending or sending, so a receiver
    that was down gets a subject's events in the order they happened."""
    waiting = [NotificationStatus.PENDING, NotificationStatus.SENDING]
    earlier = _N.alias("earlier")
    blocked = sa.exists().where(earlier.c.ordering_key == _N.c.ordering_key,
                                earlier.c.id < _N.c.id, earlier.c.status.in_(waiting))
    due = (sa.select(_N.c.id)
           .where(_N.c.next_attempt_at <= now, _N.c.status.in_(waiting), _N.c.kind.in_(kinds),
                  sa.or_(_N.c.ordering_key.is_(None), ~blocked))
           .order_by(_N.c.next_attempt_at, _N.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        # Two workers scanning at once take different rows instead of queueing on the locks.
        due = due.with_for_update(skip_locked=True)
    stmt = (sa.update(_N).where(_N.c.id.in_(due.scalar_subquery()))
            .values(status=NotificationStatus.SENDING, attempts=_N.c.attempts + 1,
                    lease_owner=worker, lease_until=now + lease, next_attempt_at=now + lease)
            .returning(_N.c.id, _N.c.kind, _N.c.target, _N.c.subject, _N.c.body, _N.c.payload,
                       _N.c.attempts, _N.c.dedupe_key, _N.c.created_at, _N.c.endpoint_id))
    # Sorted by id: a batch delivers in the order the rows were written.
    return sorted((Claimed(*row) for row in conn.execute(stmt)), key=lambda c: c.id)


def backoff(attempts: int, base_seconds: float, rnd: random.Random | None = None) -> timedelta:
    """Exponential with full jitter in the upper half: base·2^(n-1)·[0.5, 1], capped at 6 h, so
    a receiver coming back is not hit by every sender in the same second."""
    ceiling = min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600)
    return timedelta(seconds=ceiling * (0.5 + 0.5 * (rnd or random).random()))


def _mine(row_id: int, worker: str, attempts: int) -> Any:
    # Only the worker whose lease this is may settle the row: if it was too slow and someone
    # else re-claimed it, the later claim (a higher attempt number) owns the outcome.
    return sa.and_(_N.c.id == row_id, _N.c.lease_owner == worker, _N.c.attempts == attempts,
                   _N.c.status == NotificationStatus.SENDING)


def mark_sent(conn: Connection, claimed: Claimed, *, worker: str, now: datetime, via: str) -> bool:
    stmt = sa.update(_N).where(_mine(claimed.id, worker, claimed.attempts)).values(
        status=NotificationStatus.SENT, sent_at=now, next_attempt_at=None, lease_until=None,
        last_error=None, delivered_via=via[:40])
    return conn.execute(stmt).rowcount == 1


def mark_failed(conn: Connection, claimed: Claimed, *, worker: str, now: datetime, error: str,
                retry_at: datetime | None) -> bool:
    """A failure: back to pending for `retry_at`, or failed for good when it is None."""
    values: dict[str, Any] = {"last_error": error[:1000], "lease_until": None}
    if retry_at is None:
        values.update(status=NotificationStatus.FAILED, next_attempt_at=None)
    else:
        values.update(status=NotificationStatus.PENDING, next_attempt_at=retry_at)
    stmt = sa.update(_N).where(_mine(claimed.id, worker, claimed.attempts)).values(**values)
    return conn.execute(stmt).rowcount == 1
