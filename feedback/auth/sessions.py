"""Server-side sessions for people signed in to the web UI.

The (encrypted) session cookie carries only a random id; its SHA-256 is the key of a
`staff_session` row. A session ends when its row is revoked (sign-out, deactivation, a password
reset), after `session_idle_minutes` without a request, or `session_hours` after sign-in
whatever the activity — so a stolen cookie stops working on the server's say, not the cookie's.
Signing in always starts a new row (the id rotates) and revokes the one the browser had.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.auth.models import StaffSession

_S = StaffSession.__table__  # type: ignore[attr-defined]
# Writing last_seen_at on every request would turn each page view into a write; a minute's
# precision is plenty for an idle timeout counted in tens of minutes.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(db: Session, user_id: int, now: datetime, settings: Any, *, ip: str | None = None,
          user_agent: str | None = None, replaces: str | None = None) -> str:
    """A new session for `user_id`; returns the token to put in the cookie."""
    if replaces:
        revoke(db, replaces, now)
    token = secrets.token_urlsafe(32)
    db.execute(sa.insert(_S).values(
        token_hash=_hash(token), user_id=user_id, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_hours), ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None))
    return token


def _live(now: datetime, settings: Any) -> Any:
    idle = timedelta(minutes=settings.session_idle_minutes)
    return sa.and_(_S.c.revoked_at.is_(None), _S.c.expires_at > now, _S.c.last_seen_at > now - idle)


def user_of(db: Session, token: str, now: datetime,
            settings: Any) -> tuple[int, int | None] | None:
    """(user id, the session row to `touch` or None) for a live session, else None. Only
    reads: the caller marks the session used, at most once a minute, in a write of its own."""
    row = db.execute(sa.select(_S.c.id, _S.c.user_id, _S.c.last_seen_at).where(
        _S.c.token_hash == _hash(token), _live(now, settings))).first()
    if row is None:
        return None
    return int(row.user_id), (int(row.id) if row.last_seen_at <= now - TOUCH_EVERY else None)


def touch(db: Session, session_id: int, now: datetime) -> None:
    db.execute(sa.update(_S).where(_S.c.id == session_id, _S.c.last_seen_at < now)
               .values(last_seen_at=now))


def revoke(db: Session, token: str, now: datetime) -> None:
    db.execute(sa.update(_S).where(_S.c.token_hash == _hash(token), _S.c.revoked_at.is_(None))
               .values(revoked_at=now))


def revoke_all(db: Session, user_id: int, now: datetime) -> int:
    """End every session of a user (deactivation, password change); returns how many."""
    result = db.execute(sa.update(_S).where(_S.c.user_id == user_id, _S.c.revoked_at.is_(None))
                        .values(revoked_at=now))
    return int(result.rowcount or 0)


def purge(db: Session, now: datetime, keep: timedelta = timedelta(days=30)) -> int:
    """Drop rows that ended more than `keep` ago (a daily job)."""
    result = db.execute(sa.delete(_S).where(_S.c.expires_at < now - keep))
    return int(result.rowcount or 0)
