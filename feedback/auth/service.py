"""Passwords, API keys and the principal behind a request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from feedback.auth.models import ApiKey, Role, User
from surveys.errors import ValidationFailed

# scrypt with r=8, p=1 and a cost of 2^log_n; the stored form names its parameters, so a change
# of cost (settings.password_scrypt_log_n) re-hashes each password at its next sign-in.
# Version 1 stored "scrypt$salt$digest" at 2^14: still verified, then re-hashed.
_COST = {"log_n": 17}
_DUMMY: dict[int, str] = {}


def configure_password_hashing(log_n: int) -> None:
    """The process-wide cost (create_app applies the settings; tests make it cheap)."""
    _COST["log_n"] = log_n


def _scrypt(password: str, salt: bytes, log_n: int, r: int = 8, p: int = 1) -> bytes:
    n = 2**log_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=256 * r * n + 1024 * 1024)


def hash_password(password: str, *, log_n: int | None = None) -> str:
    if len(password) < 8:
        raise ValidationFailed("password must be at least 8 characters", field="password")
    if len(password) > 1024:
        raise ValidationFailed("password must be at most 1024 characters", field="password")
    log_n = log_n or _COST["log_n"]
    salt = secrets.token_bytes(16)
    return f"scrypt$ln={log_n},r=8,p=1${salt.hex()}${_scrypt(password, salt, log_n).hex()}"


def _parse(stored: str) -> tuple[int, int, int, bytes, str] | None:
    parts = stored.split("$")
    try:
        if len(parts) == 3 and parts[0] == "scrypt":  # version 1
            return 14, 8, 1, bytes.fromhex(parts[1]), parts[2]
        if len(parts) == 4 and parts[0] == "scrypt":
            params = dict(kv.split("=", 1) for kv in parts[1].split(","))
            return (int(params["ln"]), int(params["r"]), int(params["p"]), bytes.fromhex(parts[2]),
                    parts[3])
    except (ValueError, KeyError):
        return None
    return None


def verify_password(password: str, stored: str | None) -> bool:
    """Constant work whether or not there is a stored hash: with none (unknown e-mail, no
    password set yet) a dummy hash of the current cost is checked, so timing tells nothing."""
    parsed = _parse(stored) if stored else None
    if parsed is None:
        log_n = _COST["log_n"]
        if log_n not in _DUMMY:
            _DUMMY[log_n] = hash_password("dummy-password-never-matches", log_n=log_n)
        dummy = _parse(_DUMMY[log_n])
        assert dummy is not None
        _, _, _, salt, digest_hex = dummy
        hmac.compare_digest(_scrypt(password[:1024], salt, log_n).hex(), digest_hex)
        return False
    log_n, r, p, salt, digest_hex = parsed
    same = hmac.compare_digest(_scrypt(password[:1024], salt, log_n, r, p).hex(), digest_hex)
    return same and len(password) <= 1024


def needs_rehash(stored: str | None) -> bool:
    parsed = _parse(stored) if stored else None
    return parsed is not None and (parsed[0], parsed[1], parsed[2]) != (_COST["log_n"], 8, 1)


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


def principal_from_key(session: Session, key: str, admin_key: str | None,
                       now: datetime | None = None) -> Principal | None:
    if admin_key and hmac.compare_digest(key.encode(), admin_key.encode()):
        return Principal(role=Role.ADMIN, name="bootstrap admin key", via="api_key")
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and now is not None and row.expires_at <= now:
        return None
    return Principal(role=row.role, name=row.name, team=row.team, via="api_key")


def principal_from_user(session: Session, user_id: int) -> Principal | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return Principal(role=user.role, name=user.name, user_id=user.id, team=user.team)
