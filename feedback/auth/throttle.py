"""Sign-in throttling per account and per client address, with exponential backoff.

State is in the `login_throttle` table, so every web process counts the same failures. The
account key is the e-mail as typed, known or not: an unknown address is throttled exactly like
a known one, so the lock itself tells nobody which addresses exist. The count is raised with
one atomic upsert (concurrent guesses cannot lose an increment); the lock is set from the new
count. While locked, the password is not even checked — the right one is refused too.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.auth.models import LoginThrottle

_L = LoginThrottle.__table__  # type: ignore[attr-defined]
WINDOW = timedelta(hours=1)  # a failure older than this starts the count again
FIRST_LOCK_SECONDS = 2


def _keys(email: str, ip: str | None) -> list[tuple[str, str]]:
    keys = [("account", email.strip().lower()[:320])]
    if ip:
        keys.append(("ip", ip[:320]))
    return keys


def _free(kind: str, settings: Any) -> int:
    return int(settings.login_free_failures_account if kind == "account"
               else settings.login_free_failures_ip)


def wait_seconds(db: Session, email: str, ip: str | None, now: datetime) -> int:
    """How long this sign-in must wait (0: go ahead)."""
    waits = [0]
    for kind, key in _keys(email, ip):
        until = db.execute(sa.select(_L.c.locked_until).where(
            _L.c.kind == kind, _L.c.key == key)).scalar()
        if until is not None and until > now:
            waits.append(math.ceil((until - now).total_seconds()))
    return max(waits)


def _upsert(db: Session) -> Any:
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert


def record_failure(db: Session, email: str, ip: str | None, now: datetime, settings: Any) -> int:
    """Count a failed sign-in; returns the seconds the next attempt must wait."""
    insert = _upsert(db)
    waits = [0]
    for kind, key in _keys(email, ip):
        stale = _L.c.first_failed_at < now - WINDOW
        stmt = insert(_L).values(kind=kind, key=key, failures=1, first_failed_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"failures": sa.case((stale, 1), else_=_L.c.failures + 1),
                  "first_failed_at": sa.case(
                      (stale, sa.bindparam("now_", now, type_=_L.c.first_failed_at.type)),
                      else_=_L.c.first_failed_at)},
        ).returning(_L.c.id, _L.c.failures)
        row = db.execute(stmt).one()
        over = int(row.failures) - _free(kind, settings)
        if over >= 0:
            seconds = min(settings.login_max_lock_seconds, FIRST_LOCK_SECONDS * 2 ** min(over, 30))
            db.execute(sa.update(_L).where(_L.c.id == row.id)
                       .values(locked_until=now + timedelta(seconds=seconds)))
            waits.append(seconds)
    return max(waits)


def record_success(db: Session, email: str, now: datetime) -> None:
    """A right password clears the account's count (the address's count stays: one person
    signing in does not excuse the guesses at other accounts from that address)."""
    db.execute(sa.delete(_L).where(_L.c.kind == "account",
                                   _L.c.key == email.strip().lower()[:320]))
