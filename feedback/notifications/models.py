"""The `notification` table: one row per message we owe someone (a webhook, Slack, an email)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime, utcnow


class NotificationKind(StrEnum):
    WEBHOOK = "webhook"
    SLACK = "slack"
    EMAIL = "email"
    SMS = "sms"
    EVENT = "event"  # an integration event to one subscribed endpoint (feedback/integrations)
    # Not a message: the reactions to an answer (themes, response.created, recovery), run by
    # the follow-ups job (feedback/followups), never by delivery.
    FOLLOWUP = "followup"


# What `deliver_due` sends; follow-ups are work the application does, claimed by their own job.
SENT_KINDS = tuple(k.value for k in NotificationKind if k is not NotificationKind.FOLLOWUP)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # gave up: last_error says why


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    # Per-subject order of event deliveries: a row is claimable only when no earlier row with
    # its ordering key is still waiting (see outbox.claim_due).
    __table_args__ = (sa.Index("ix_notification_ordering", "ordering_key", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    target: str = Field(max_length=1000)  # URL, email address or phone number
    subject: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    # The same logical notification (e.g. "task 7, first contact, escalation, to Slack") has one
    # key: a second insert of it conflicts, so two workers can never both send it.
    dedupe_key: str = Field(max_length=300, unique=True)
    status: str = Field(default=NotificationStatus.PENDING, max_length=10)
    attempts: int = 0
    # When a worker should next look at it: the retry time while pending, the lease expiry while
    # sending (so a crashed worker's row comes back), NULL once sent or failed.
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), index=True))
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    lease_owner: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, max_length=1000)
    delivered_via: str | None = Field(default=None, max_length=40)  # e.g. "httpx", "smtp", "log"
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    # Event deliveries only: the subscribed endpoint, and "<endpoint>:<subject>" for ordering.
    endpoint_id: int | None = Field(default=None, index=True)
    ordering_key: str | None = Field(default=None, max_length=200)
