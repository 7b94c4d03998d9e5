"""Claiming due invitations (and due reminders) with a lease. Plain SQL for SQLite and PostgreSQL.

A claim is one short transaction: find due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
workers take different rows instead of waiting on each other), then a conditional UPDATE that
only succeeds while the row is still due — on SQLite, where a second writer can slip in between
the two statements, that condition is what keeps a row from being claimed twice. Each claim gets
its own lease token in `lease_owner`; only the holder of that token may settle the row.

A row found in `sending` with its lease run out was being sent by a worker that died (or that
saw a `maybe_sent` failure): it is claimed as `recovering`, and the dispatcher must ask the
provider whether the message already went out before sending it again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from surveys.models import Invitation, InvitationStatus

I = Invitation.__table__  # type: ignore[attr-defined]  # noqa: E741
REMINDABLE = (InvitationStatus.SENT, InvitationStatus.DELIVERED, InvitationStatus.OPENED)
Purpose = Literal["invitation", "reminder"]


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    purpose: Purpose
    token: str  # the lease token: lease_owner while this claim holds the row
    recovering: bool  # a previous attempt may have reached the provider


def _due(purpose: Purpose, now: datetime) -> Any:
    if purpose == "invitation":
        return sa.or_(
            sa.and_(I.c.status == InvitationStatus.SCHEDULED, I.c.send_at <= now),
            sa.and_(I.c.status == InvitationStatus.SENDING, I.c.lease_until < now))
    return sa.and_(I.c.status.in_(REMINDABLE), I.c.remind_at <= now, I.c.reminded_at.is_(None),
                   sa.or_(I.c.lease_until.is_(None), I.c.lease_until < now))


def claim(conn: Connection, purpose: Purpose, *, now: datetime, worker: str, lease: timedelta,
          limit: int) -> list[Claim]:
    order = I.c.send_at if purpose == "invitation" else I.c.remind_at
    due = sa.select(I.c.id, I.c.status, I.c.lease_until).where(_due(purpose, now)).order_by(order)
    due = due.limit(limit)
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    found = conn.execute(due).all()
    if not found:
        return []
    token = f"{worker[:60]}/{uuid.uuid4().hex[:16]}"
    values: dict[str, Any] = {"lease_owner": token, "lease_until": now + lease, "updated_at": now}
    if purpose == "invitation":
        values["status"] = InvitationStatus.SENDING
    got = {row.id for row in conn.execute(
        sa.update(I).where(I.c.id.in_([r.id for r in found]), _due(purpose, now))
        .values(**values).returning(I.c.id))}
    return [Claim(r.id, purpose, token,
                  recovering=(r.status == InvitationStatus.SENDING if purpose == "invitation"
                              else r.lease_until is not None))
            for r in found if r.id in got]


def settle(conn: Connection, claimed: Claim, **values: Any) -> bool:
    """Update the row only if this claim still holds it; False means someone else took over."""
    stmt = sa.update(I).where(I.c.id == claimed.id, I.c.lease_owner == claimed.token)
    if claimed.purpose == "invitation":
        # The customer may have answered through the link meanwhile: never undo "answered".
        stmt = stmt.where(I.c.status == InvitationStatus.SENDING)
    return conn.execute(stmt.values(**values)).rowcount == 1


def settle_many(conn: Connection, claims: list[Claim], common: dict[str, Any],
                each: dict[int, dict[str, Any]]) -> set[int]:
    """`settle` for rows of a batch at once: `common` values by one conditional UPDATE per
    claim token (only the rows that claim still holds), then each won row's own values (`each`,
    the same keys for every row) by one executemany. Returns the ids won."""
    groups: dict[tuple[str, str], list[int]] = {}
    for c in claims:
        groups.setdefault((c.token, c.purpose), []).append(c.id)
    won: set[int] = set()
    for (token, purpose), ids in groups.items():
        stmt = sa.update(I).where(I.c.id.in_(ids), I.c.lease_owner == token)
        if purpose == "invitation":
            stmt = stmt.where(I.c.status == InvitationStatus.SENDING)  # never undo "answered"
        # A single row takes its own values in the same statement.
        values = {**common, **each.get(ids[0], {})} if len(ids) == 1 else common
        got = {r.id for r in conn.execute(stmt.values(**values).returning(I.c.id))}
        if len(ids) > 1 and got and each:
            rows = [{"p_id": i, **{f"p_{k}": v for k, v in each[i].items()}} for i in got]
            keys = each[next(iter(got))].keys()
            conn.execute(sa.update(I).where(I.c.id == sa.bindparam("p_id"))
                         .values({k: sa.bindparam(f"p_{k}") for k in keys}), rows)
        won |= got
    return won


def expire_due(conn: Connection, *, now: datetime, limit: int) -> list[tuple[int, int, str, str]]:
    """Mark open invitations past `expires_at` expired; (id, customer_id, channel, old status)."""
    open_ = [InvitationStatus.SCHEDULED, *REMINDABLE]
    due = (sa.select(I.c.id, I.c.customer_id, I.c.channel, I.c.status)
           .where(I.c.status.in_(open_), I.c.expires_at <= now,
                  sa.or_(I.c.lease_until.is_(None), I.c.lease_until < now))
           .order_by(I.c.expires_at).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = conn.execute(due).all()
    if not rows:
        return []
    got = {r.id for r in conn.execute(
        sa.update(I).where(I.c.id.in_([r.id for r in rows]), I.c.status.in_(open_),
                           I.c.expires_at <= now)
        .values(status=InvitationStatus.EXPIRED, remind_at=None, updated_at=now,
                status_reason="expired")
        .returning(I.c.id))}
    return [(r.id, r.customer_id, r.channel, r.status) for r in rows if r.id in got]
