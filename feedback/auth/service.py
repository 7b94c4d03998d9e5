"""Passwords, API keys and the principal behind a request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from feedback.auth.models import ApiKey, Role, User
from surveys.errors import ValidationFailed

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationFailed("password must be at least 8 characters", field="password")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_hex, digest_hex = stored.split("$")
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)  # type: ignore[arg-type]
    return hmac.compare_digest(digest.hex(), digest_hex)


def hash_key(key: str) -> str:
    # API keys are long random strings, so a fast hash is enough (no brute force possible).
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, role: str, team: str | None = None) -> tuple[ApiKey, str]:
    """Return the row and the plaintext key — shown once, stored only as a hash."""
    role = Role(role).value
    plaintext = "fbk_" + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=plaintext[:10], key_hash=hash_key(plaintext), role=role, team=team)
    session.add(row)
    session.flush()
    return row, plaintext


def create_user(
    session: Session, *, email: str, name: str, role: str, password: str | None = None,
    team: str | None = None,
) -> User:
    role = Role(role).value
    if role == Role.INGEST:
        raise ValidationFailed("ingest is a role for API keys, not for people", field="role")
    email = email.strip().lower()
    if session.exec(select(User).where(User.email == email)).first():
        raise ValidationFailed(f"a user with email {email} already exists", field="email")
    user = User(email=email, name=name, role=role, team=team,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in staff user or an API key, with a role and maybe a team."""

    role: str
    name: str
    user_id: int | None = None
    team: str | None = None
    via: str = "session"

    def can(self, action: str) -> bool:
        """What the permission table allows this role (pages use it to offer only those)."""
        from feedback.auth.permissions import allows

        return allows(self.role, action)


def principal_from_key(session: Session, key: str, admin_key: str | None) -> Principal | None:
    if admin_key and hmac.compare_digest(key, admin_key):
        return Principal(role=Role.ADMIN, name="bootstrap admin key", via="api_key")
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(role=row.role, name=row.name, team=row.team, via="api_key")


def principal_from_user(session: Session, user_id: int) -> Principal | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return Principal(role=user.role, name=user.name, user_id=user.id, team=user.team)
