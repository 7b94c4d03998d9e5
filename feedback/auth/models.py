"""Staff accounts and API keys. Customers never have accounts: their survey token is all."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    RECOVERY = "recovery"
    # API keys of integrations (helpdesks): they may write interactions and nothing else.
    INGEST = "ingest"


class User(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    team: str | None = Field(default=None, max_length=200, index=True)
    password_hash: str | None = Field(default=None, max_length=300)
    active: bool = True
    # Recovery-team members who are off are skipped by round-robin assignment.
    available: bool = True
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16)  # shown in lists so people can tell keys apart
    key_hash: str = Field(max_length=128, unique=True)
    role: str = Field(max_length=20)
    team: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    expires_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    created_by: str | None = Field(default=None, max_length=200)


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries only a random id whose hash is stored here, so
    logout, deactivation and the time limits take effect on the server (a saved cookie is
    worthless once its row is revoked or expired)."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    # Absolute end of life, whatever the activity; idle expiry is last_seen_at + idle timeout.
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per account (e-mail as typed, known or not) and per client address.
    In the database so every web process sees the same counts."""

    __tablename__ = "login_throttle"
    __table_args__ = (sa.UniqueConstraint("kind", "key", name="uq_login_throttle_kind_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # "account" or "ip"
    key: str = Field(max_length=320)
    failures: int = 0
    first_failed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    locked_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class AccountToken(SQLModel, table=True):
    """A one-time link: an invitation to set a first password, or a password reset."""

    __tablename__ = "account_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    purpose: str = Field(max_length=20)  # "invite" or "reset"
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class AuditEvent(SQLModel, table=True):
    """Who did what to access (accounts, keys, sign-ins) or exported personal data, when and
    from where. Append-only: nothing in the application updates or deletes a row."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=200)
    actor_user_id: int | None = Field(default=None)
    action: str = Field(max_length=60, index=True)
    target: str | None = Field(default=None, max_length=320)
    detail: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    ip: str | None = Field(default=None, max_length=64)
