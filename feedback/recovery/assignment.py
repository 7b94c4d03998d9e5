"""Who gets a new task: round robin within the task's team, fair and safe under concurrency.

Ownership follows visibility: a recovery member sees their own team's queue, so a task goes to
an available member of *its* team; when none is available, to that team's lead; when there is
no lead either, nobody — it waits in the team's queue. Never to another team's agent (who could
not find it again once released). Only when agents see every team
(`recovery_agents_see_all_teams`) does `round_robin` rotate over everyone.

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
from surveys.errors import NotFound
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
    if team is None or (mode == "round_robin" and settings.recovery_agents_see_all_teams):
        return next_in_turn(session, eligible(session), now)
    # The team's available members and its leads in one look-up; the leads only when no
    # member is available.
    staff = list(session.exec(select(User).where(
        User.active.is_(True), User.team == team,  # type: ignore[attr-defined]
        sa.or_(sa.and_(User.role == Role.RECOVERY, User.available.is_(True)),  # type: ignore[attr-defined]
               User.role == Role.LEAD)).order_by(User.id)).all())  # type: ignore[arg-type]
    members = [u for u in staff if u.role == Role.RECOVERY]
    return next_in_turn(session, members or [u for u in staff if u.role == Role.LEAD], now)


def set_availability(session: Session, user_id: int, available: bool) -> User:
    """Mark a recovery member on or off rotation (admins). Off members keep their tasks."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", code="unknown_user")
    user.available = available
    session.add(user)
    return user


def staff_user(session: Session, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.active else None
