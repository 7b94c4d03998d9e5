"""Tables of the survey domain: who we ask, about what, with which survey, and what they said.

Deadlines (`send_at`, `remind_at`, `expires_at`) are indexed columns so the worker finds due
rows with an index scan; dimensions the reports group by (team, agent, channel, queue, kind) are
copied onto `response` so a KPI query touches one table.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime, utcnow


def _ts(index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), index=index, nullable=nullable))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


class InteractionChannel(StrEnum):
    PHONE = "phone"
    CHAT = "chat"
    EMAIL = "email"
    TICKET = "ticket"


class InvitationChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    LINK = "link"  # no contact route: the survey exists only as a link (e.g. shown by the agent)


class InvitationStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    ANSWERED = "answered"
    EXPIRED = "expired"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # a policy decided not to send (opt-out, fatigue, no contact)


OPEN_STATUSES = {
    InvitationStatus.SCHEDULED,
    InvitationStatus.SENDING,
    InvitationStatus.SENT,
    InvitationStatus.DELIVERED,
    InvitationStatus.OPENED,
}


class ResponseSource(StrEnum):
    WEB = "web"
    SMS = "sms"
    EMAIL_CLICK = "email-click"
    API = "api"


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, max_length=200, unique=True, index=True)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=20, index=True)  # E.164
    locale: str = Field(default="en", max_length=20)
    time_zone: str | None = Field(default=None, max_length=64)
    tier: str | None = Field(default=None, max_length=40)
    last_surveyed_at: datetime | None = _ts(index=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class OptOut(SQLModel, table=True):
    """One per (channel, address): SMS STOP, the email unsubscribe link and the admin API all
    write here, and dispatch reads it at send time. `channel` is sms, email or all."""

    __tablename__ = "opt_out"
    __table_args__ = (sa.UniqueConstraint("channel", "address", name="uq_opt_out_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)
    address: str = Field(max_length=320, index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    source: str = Field(max_length=40)
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()


class Interaction(SQLModel, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        # Inferred FCR looks for the same customer's next contact on the same reason.
        sa.Index("ix_interaction_customer_reason_occurred", "customer_id", "contact_reason",
                 "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=200, unique=True, index=True)
    # No index of its own: ix_interaction_customer_reason_occurred leads with it (migration 0027).
    customer_id: int = Field(foreign_key="customer.id")
    channel: str = Field(max_length=20)
    agent: str | None = Field(default=None, max_length=200, index=True)
    team: str | None = Field(default=None, max_length=200, index=True)
    queue: str | None = Field(default=None, max_length=200)
    occurred_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), index=True, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column("metadata", sa.JSON))
    # Operational facts (all optional; feedback.operations reads them). Durations are whole
    # seconds; `wait_seconds` is time in queue until answered or, for an abandoned contact,
    # until the customer hung up (the 5-second short-abandon rule needs it).
    offered_at: datetime | None = _ts()
    answered_at: datetime | None = _ts()
    wait_seconds: int | None = None
    talk_seconds: int | None = None
    hold_seconds: int | None = None
    wrap_seconds: int | None = None
    # Turned away before the queue (all lines busy, queue full): never offered.
    blocked: bool | None = None
    abandoned: bool | None = None
    transfers: int | None = None
    resolved: bool | None = None  # agent-reported
    contact_reason: str | None = Field(default=None, max_length=200)
    first_response_seconds: int | None = None  # async channels (chat, email, ticket)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SurveyDefinition(SQLModel, table=True):
    __tablename__ = "survey_definition"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True)
    kind: str = Field(max_length=10)
    scale_min: int
    scale_max: int
    # {"en": {"question": "...", "follow_up": "..."}, "zh-CN": {...}, "fa": {...}}
    questions: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    active: bool = True
    created_at: datetime = _created()
    # The current version (`survey_version`); 0: never edited, the catalog's wording applies.
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    name: str | None = Field(default=None, max_length=200)


class SurveyVersion(SQLModel, table=True):
    """One edit of a survey's wording and extra questions. Never changed once written: an
    invitation names the version it was sent with, so answers keep the words they answered.
    `content` is the shape `surveys.content` reads (texts per locale, extra questions)."""

    __tablename__ = "survey_version"

    survey_id: int = Field(foreign_key="survey_definition.id", primary_key=True)
    version: int = Field(primary_key=True)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    created_by: str = Field(max_length=200)
    created_at: datetime = _created()


class Invitation(SQLModel, table=True):
    __tablename__ = "invitation"
    __table_args__ = (
        # One survey per interaction and purpose: a retried webhook cannot schedule a second one.
        sa.UniqueConstraint("interaction_id", "purpose", name="uq_invitation_interaction_purpose"),
        sa.Index("ix_invitation_status_send_at", "status", "send_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    purpose: str = Field(default="survey", max_length=30)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id")
    survey_id: int = Field(foreign_key="survey_definition.id")
    survey_version: int | None = None  # None: the survey had no edited version then
    channel: str = Field(max_length=10)
    locale: str = Field(default="en", max_length=20)
    # No index of its own: ix_invitation_status_send_at leads with status (migration 0027).
    status: str = Field(default=InvitationStatus.SCHEDULED, max_length=20)
    status_reason: str | None = Field(default=None, max_length=500)
    send_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), index=True, nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), index=True, nullable=False))
    remind_at: datetime | None = _ts(index=True)
    # The distribution rule may turn the reminder off for the surveys it schedules.
    reminder: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _ts(index=True)
    provider_message_id: str | None = Field(default=None, max_length=100, index=True)
    sent_at: datetime | None = _ts()
    delivered_at: datetime | None = _ts()
    opened_at: datetime | None = _ts()
    answered_at: datetime | None = _ts()
    reminded_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Response(SQLModel, table=True):
    __tablename__ = "response"
    __table_args__ = (
        sa.Index("ix_response_kind_submitted", "kind", "submitted_at"),
        sa.Index("ix_response_team_submitted", "team", "submitted_at"),
        sa.Index("ix_response_agent_submitted", "agent", "submitted_at"),
        sa.Index("ix_response_channel_submitted", "channel", "submitted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Unique: the database itself guarantees an invitation is answered once.
    invitation_id: int = Field(foreign_key="invitation.id", unique=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id", index=True)
    survey_id: int = Field(foreign_key="survey_definition.id")
    kind: str = Field(max_length=10)
    score: int
    classification: str = Field(max_length=20)
    comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    comment_at: datetime | None = _ts()
    source: str = Field(max_length=20)
    locale: str = Field(default="en", max_length=20)
    # Dimensions copied from the interaction so reports read one table.
    team: str | None = Field(default=None, max_length=200)
    agent: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=20)
    queue: str | None = Field(default=None, max_length=200)
    purpose: str = Field(default="survey", max_length=30)
    # "Was your issue resolved?" — the customer's own word on first-contact resolution.
    resolved: bool | None = None
    submitted_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), index=True, nullable=False))


class ResponseAnswer(SQLModel, table=True):
    """The answer to one extra question (yes/no, a choice, a short text) of a response."""

    __tablename__ = "response_answer"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "question_id", name="uq_response_answer_question"),
        sa.Index("ix_response_answer_survey_question", "survey_id", "question_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id")
    survey_id: int = Field(foreign_key="survey_definition.id")
    survey_version: int | None = None
    question_id: str = Field(max_length=40)
    question_type: str = Field(max_length=10)  # yes_no, choice, text (erasure drops texts)
    value: str = Field(max_length=500)
    submitted_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
