"""Staff accounts and API keys. Customers never have accounts: their survey token is all."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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
