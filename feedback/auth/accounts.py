"""Managing access without SQL: staff accounts, one-time links, API keys — each change written
to the audit log in the same transaction.

People never get a password from an admin: an invitation or a reset is a one-time link (its
SHA-256 stored, the link shown once) that expires after `account_link_hours`; the person sets
their own password there. Using a link is one conditional UPDATE (`used_at IS NULL AND
expires_at > now`), so two tabs racing on one link cannot both succeed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth import audit, sessions
from feedback.auth.models import AccountToken, ApiKey, Role, User
from feedback.auth.service import create_api_key, create_user, hash_password
from surveys.errors import Conflict, NotFound, ValidationFailed

_T = AccountToken.__table__  # type: ignore[attr-defined]
STAFF_ROLES = (Role.ADMIN.value, Role.LEAD.value, Role.RECOVERY.value)
KEY_ROLES = (Role.INGEST.value, *STAFF_ROLES)


@dataclass(frozen=True)
class Who:
    """The admin making a change, for the audit log."""

    name: str
    user_id: int | None = None
    ip: str | None = None

    def record(self, db: Session, now: datetime, action: str, target: str,
               detail: dict[str, Any] | None = None) -> None:
        audit.record(db, now, actor=self.name, actor_user_id=self.user_id, action=action,
                     target=target, detail=detail, ip=self.ip)


def user_json(u: User) -> dict[str, Any]:
    return {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "team": u.team,
            "active": u.active, "available": u.available, "has_password": bool(u.password_hash),
            "created_at": u.created_at.isoformat()}


def key_json(k: ApiKey, now: datetime) -> dict[str, Any]:
    expired = k.expires_at is not None and k.expires_at <= now
    return {"id": k.id, "name": k.name, "prefix": k.prefix, "role": k.role, "team": k.team,
            "created_at": k.created_at.isoformat(), "created_by": k.created_by,
            "expires_at": k.expires_at.isoformat() if k.expires_at else None,
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            "active": k.revoked_at is None and not expired}


def _role(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationFailed(f"role must be one of {', '.join(allowed)}", field="role")
    return value


def _team(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > 200:
        raise ValidationFailed("team must be at most 200 characters", field="team")
    return value or None


def users(db: Session) -> list[User]:
    return list(db.exec(select(User).order_by(User.active.desc(), User.name)).all())  # type: ignore[attr-defined]


def get_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", code="unknown_user")
    return user


def _link(db: Session, user: User, purpose: str, now: datetime, settings: Any) -> tuple[str, datetime]:
    # A new link replaces any unused one of the same purpose.
    db.execute(sa.update(_T).where(_T.c.user_id == user.id, _T.c.purpose == purpose,
                                   _T.c.used_at.is_(None)).values(used_at=now))
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.account_link_hours)
    db.execute(sa.insert(_T).values(token_hash=_hash(token), user_id=user.id, purpose=purpose,
                                    created_at=now, expires_at=expires))
    return f"{settings.public_url.rstrip('/')}/account/password/{token}", expires


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(db: Session, who: Who, now: datetime, settings: Any, *, email: str, name: str,
           role: str, team: str | None = None) -> tuple[User, str, datetime]:
    """A new account without a password, and the one-time link to set one."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name is required (at most 200 characters)", field="name")
    if "@" not in (email or "") or len(email) > 320:
        raise ValidationFailed("email must be an e-mail address", field="email")
    user = create_user(db, email=email, name=name, role=_role(role, STAFF_ROLES),
                       team=_team(team))
    link, expires = _link(db, user, "invite", now, settings)
    who.record(db, now, "user.invite", user.email, {"role": user.role, "team": user.team})
    return user, link, expires


def reset_link(db: Session, who: Who, now: datetime, settings: Any,
               user_id: int) -> tuple[str, datetime]:
    user = get_user(db, user_id)
    link, expires = _link(db, user, "reset", now, settings)
    who.record(db, now, "user.reset_link", user.email)
    return link, expires


def update(db: Session, who: Who, now: datetime, user_id: int, *, role: str | None = None,
           team: Any = ..., available: bool | None = None, active: bool | None = None) -> User:
    """Change role, team, availability or active state. Deactivating ends every session."""
    user = get_user(db, user_id)
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        if who.user_id == user.id:
            raise Conflict("you cannot change your own role", field="role")
        changes["role"] = [user.role, _role(role, STAFF_ROLES)]
        user.role = role
    if team is not ... and _team(team) != user.team:
        changes["team"] = [user.team, _team(team)]
        user.team = _team(team)
    if available is not None and available != user.available:
        changes["available"] = [user.available, available]
        user.available = available
    if active is not None and active != user.active:
        if who.user_id == user.id and not active:
            raise Conflict("you cannot deactivate yourself", field="active")
        changes["active"] = [user.active, active]
        user.active = active
        if not active:
            changes["sessions_ended"] = sessions.revoke_all(db, user.id, now)  # type: ignore[arg-type]
    if "role" in changes or "team" in changes:
        # Rights changed: whatever a session was opened with, make them sign in again.
        sessions.revoke_all(db, user.id, now)  # type: ignore[arg-type]
    db.add(user)
    if changes:
        action = ("user.deactivate" if changes.get("active") == [True, False] else
                  "user.reactivate" if changes.get("active") == [False, True] else "user.update")
        who.record(db, now, action, user.email, changes)
    return user


def link_user(db: Session, token: str, now: datetime) -> tuple[User, str] | None:
    """The account a still-valid link is for (to show the form), or None."""
    row = db.execute(sa.select(_T.c.user_id, _T.c.purpose).where(
        _T.c.token_hash == _hash(token), _T.c.used_at.is_(None), _T.c.expires_at > now)).first()
    if row is None:
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row.purpose


def use_link(db: Session, token: str, password: str, now: datetime, ip: str | None) -> User:
    """Set the password through a one-time link; every existing session of the account ends."""
    hashed = hash_password(password)  # validates the length before the link is spent
    row = db.execute(sa.update(_T).where(
        _T.c.token_hash == _hash(token), _T.c.used_at.is_(None), _T.c.expires_at > now)
        .values(used_at=now).returning(_T.c.user_id, _T.c.purpose)).first()
    user = db.get(User, row.user_id) if row is not None else None
    if user is None or not user.active:
        raise NotFound("this link has expired or was already used; ask an admin for a new one",
                       code="link_expired")
    user.password_hash = hashed
    db.add(user)
    sessions.revoke_all(db, user.id, now)  # type: ignore[arg-type]
    audit.record(db, now, actor=user.email, actor_user_id=user.id,
                 action=f"user.password_set.{row.purpose}", target=user.email, ip=ip)  # type: ignore[union-attr]
    return user


def keys(db: Session) -> list[ApiKey]:
    return list(db.exec(select(ApiKey).order_by(ApiKey.id.desc())).all())  # type: ignore[union-attr]


def create_key(db: Session, who: Who, now: datetime, *, name: str, role: str,
               team: str | None = None, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name is required (at most 200 characters)", field="name")
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", field="expires_at")
    row, plaintext = create_api_key(db, name, _role(role, KEY_ROLES), _team(team))
    row.expires_at, row.created_by = expires_at, who.name[:200]
    db.add(row)
    who.record(db, now, "apikey.create", f"{row.prefix}… {name}",
               {"role": row.role, "team": row.team,
                "expires_at": expires_at.isoformat() if expires_at else None})
    return row, plaintext


def revoke_key(db: Session, who: Who, now: datetime, key_id: int) -> ApiKey:
    row = db.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found", code="unknown_api_key")
    if row.revoked_at is None:
        row.revoked_at = now
        db.add(row)
        who.record(db, now, "apikey.revoke", f"{row.prefix}… {row.name}")
    return row
