"""Outreach tables: the development outbox and the contact log ("why was this customer not
surveyed?").

The contact log is append-only: every decision dispatch takes about an invitation (sent,
deferred for quiet hours, suppressed by fatigue or an opt-out, failed with the provider's
reason) is one row, so staff can read the whole story rather than only the last status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime


class DevOutboxMessage(SQLModel, table=True):
    """A message the development transport recorded instead of sending (channel unconfigured)."""

    __tablename__ = "dev_outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: str = Field(max_length=100, unique=True)
    channel: str = Field(max_length=10)
    to: str = Field(max_length=320, index=True)
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    html: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    # The marker (survey token) lets dispatch find a message it recorded before a crash.
    marker: str | None = Field(default=None, max_length=100, index=True)
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), index=True, nullable=False))


class ContactEvent(SQLModel, table=True):
    """One dispatch decision about one invitation. `reason` is an `outreach.policy.Reason`."""

    __tablename__ = "contact_event"
    __table_args__ = (sa.Index("ix_contact_event_customer_at", "customer_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id", index=True)
    customer_id: int = Field(foreign_key="customer.id")
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    kind: str = Field(max_length=20)  # invitation or reminder
    action: str = Field(max_length=10)  # send, defer, skip, retry, fail
    reason: str = Field(max_length=40)
    channel: str | None = Field(default=None, max_length=10)
    detail: str | None = Field(default=None, max_length=1000)
    not_before: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class ChannelPause(SQLModel, table=True):
    """A channel the provider refused for configuration reasons (bad Twilio credentials, SMTP
    authentication): dispatch holds that channel's invitations instead of failing each one.

    One row per paused channel. `probe_at` is when one message may test the channel again (a
    worker that starts up probes at once: it may carry the fixed configuration); a probe that
    is accepted deletes the row and the held invitations become due."""

    __tablename__ = "channel_pause"

    channel: str = Field(primary_key=True, max_length=10)
    reason: str = Field(max_length=1000)
    code: str | None = Field(default=None, max_length=40)
    paused_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    probe_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
