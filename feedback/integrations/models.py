"""Tables of integrations: event subscriptions (webhook / Slack endpoints) and the log of every
delivery attempt. The deliveries themselves are rows of the one notification outbox
(`kind = "event"`, `endpoint_id`, `ordering_key`), so an event exists iff its cause committed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import feedback.notifications.models  # noqa: F401  (deliveries are outbox rows)
from surveys.types import UTCDateTime, utcnow


class EndpointKind(StrEnum):
    WEBHOOK = "webhook"  # signed JSON (Standard Webhooks)
    SLACK = "slack"  # a Slack incoming webhook: readable text, no signature


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    url: str = Field(max_length=1000)
    kind: str = Field(default=EndpointKind.WEBHOOK, max_length=10)
    # Event types this endpoint receives; ["*"] means every type.
    event_types: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    # `whsec_<base64>`; during a rotation the previous secret signs too until previous_secret_until,
    # so a receiver can switch over without losing a message.
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    active: bool = Field(default=True, index=True)
    disabled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    disabled_reason: str | None = Field(default=None, max_length=500)
    # First failure of the current unbroken run of failures; NULL after any success.
    failing_since: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    # Set for endpoints made from settings (e.g. "settings:recovery_webhook_url"): one row each.
    source: str | None = Field(default=None, max_length=60, unique=True)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))


class WebhookAttempt(SQLModel, table=True):
    """One try of one delivery: what the receiver answered (the delivery log)."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (sa.Index("ix_webhook_attempt_endpoint_at", "endpoint_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(index=True)
    endpoint_id: int
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=60)
    attempt: int
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    ok: bool
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int | None = None


class HelpdeskConnector(SQLModel, table=True):
    """An inbound helpdesk webhook: POST /webhooks/helpdesk/{id}, authenticated with `secret`
    the way its kind signs (Zendesk, Intercom) or as a bearer token (Freshdesk, generic)."""

    __tablename__ = "helpdesk_connector"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # zendesk | freshdesk | intercom | generic
    name: str = Field(max_length=100)
    secret: str = Field(max_length=200)
    # generic only: interaction field → JSON path (see helpdesk.MAPPABLE)
    mapping: dict[str, str] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    active: bool = True
    received: int = 0  # interactions made (a replayed webhook counts again)
    last_received_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
