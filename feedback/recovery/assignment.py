"""Who gets a new task: round robin over the recovery team, fair and safe under concurrency.

Each member has a `recovery_assignee` row holding the sequence number of their last
assignment; the next task goes to the eligible member with the lowest number (the one who
waited longest). On PostgreSQL that row is taken with FOR UPDATE SKIP LOCKED, so two answers
being recorded at the same moment go to two different people instead of both reading "Ana is
next"; SQLite has a single writer, which serialises assignments anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth.models import Role, User
from feedback.recovery.models import RecoveryAssignee
from surveys.sql import insert_ignore

_A = RecoveryAssignee.__table__  # type: ignore[attr-defined]


def eligible(session: Session, team: str | None = None) -> list[User]:
    """Active recovery members who are not marked off, optionally of one team."""
    stmt = select(User).where(User.role == Role.RECOVERY, User.active.is_(True),  # type: ignore[attr-defined]
                              User.available.is_(True))  # type: ignore[attr-defined]
    if team is not None:
        stmt = stmt.where(User.team == team)
    return list(session.exec(stmt.order_by(User.id)).all())  # type: ignore[arg-type]


def next_in_turn(session: Session, users: list[User], now: datetime) -> User | None:
    """Take the member who waited longest and record the assignment (in this transaction)."""
    if not users:
        return None
    ids = [u.id for u in users]
    insert_ignore(session, _A, [{"user_id": i, "last_seq": 0, "assigned_total": 0} for i in ids],
                  ["user_id"])
    pick = (sa.select(_A.c.user_id).where(_A.c.user_id.in_(ids))
            .order_by(_A.c.last_seq, _A.c.user_id).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        chosen = session.execute(pick.with_for_update(skip_locked=True)).scalar()
        if chosen is None:  # everyone is being assigned right now: wait for the first in line
            chosen = session.execute(pick.with_for_update()).scalar()
    else:
        chosen = session.execute(pick).scalar()
    # max+1 is read after the lock, so the counter only moves forward; equal numbers from two
    # racing transactions would merely tie, broken by user id — never the same person twice.
    seq = session.execute(sa.select(sa.func.coalesce(sa.func.max(_A.c.last_seq), 0) + 1)).scalar()
    session.execute(sa.update(_A).where(_A.c.user_id == chosen).values(
        last_seq=seq, last_assigned_at=now, assigned_total=_A.c.assigned_total + 1))
    return next(u for u in users if u.id == chosen)


def choose_owner(session: Session, *, team: str | None, settings: Any, now: datetime) -> User | None:
    """The owner a new task gets under the configured policy, or None (the queue claims it)."""
    mode = settings.recovery_assignment
    if mode == "none":
        return None
    if mode == "team" and team:
        owner = next_in_turn(session, eligible(session, team), now)
        if owner is not None:
            return owner
    return next_in_turn(session, eligible(session), now)


def staff_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.active else None
