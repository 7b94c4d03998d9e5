"""Tables of the inbound side: every SMS a customer sent us, and the short conversation that
follows a survey reply (a clarifying question, then "why?").

`inbound_sms.message_sid` is unique: Twilio retries a webhook it thinks failed, and the database
itself makes sure the same message is acted on once. The stored `reply` is sent again to such a
retry, so the customer sees the same answer and nothing is recorded twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime


def _ts(index: bool = False, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), index=index, nullable=nullable))


class Outcome(StrEnum):
    """What an inbound SMS did; kept per message so support can see why it was answered so."""

    SCORE = "score"
    COMMENT = "comment"
    ANSWER = "answer"  # the answer to an extra question (yes/no, a choice)
    CLARIFY = "clarify"
    UNPARSED = "unparsed"  # the second reply we could not read: stored, not asked again
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    NO_SURVEY = "no_survey"  # unknown number, or nothing open for it
    TASK_REPLY = "task_reply"  # no survey open, but a recovery task: the words went there
    ALREADY_ANSWERED = "already_answered"
    IGNORED_OPTED_OUT = "ignored_opted_out"  # stored, but we no longer text this number


class Awaiting(StrEnum):
    SCORE = "score"  # we asked once to reply with a number
    COMMENT = "comment"  # we asked the follow-up question
    QUESTION = "question"  # we asked the survey's next extra question (`inbound.questions`)
    QUESTION_AGAIN = "q_again"  # … and once more, after a reply we could not read


class InboundSms(SQLModel, table=True):
    __tablename__ = "inbound_sms"

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(max_length=64, unique=True)
    from_number: str = Field(max_length=40, index=True)
    to_number: str | None = Field(default=None, max_length=40)
    body: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    outcome: str | None = Field(default=None, max_length=30)
    reply: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    received_at: datetime = _ts(index=True)


class SmsConversation(SQLModel, table=True):
    """At most one per phone number: what our last SMS asked, and until when a reply counts as
    its answer. Past `expires_at` a reply is read afresh."""

    __tablename__ = "sms_conversation"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=40, unique=True)
    invitation_id: int = Field(foreign_key="invitation.id")
    awaiting: str = Field(max_length=10)
    expires_at: datetime = _ts(index=True)
    updated_at: datetime = _ts()


class EmailBounce(SQLModel, table=True):
    """An email that came back. Hard bounces also fail the invitation and close the address
    (an opt-out row with source "bounce"); soft ones are only kept, for the record."""

    __tablename__ = "email_bounce"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=320, index=True)
    kind: str = Field(max_length=10)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    reason: str | None = Field(default=None, max_length=1000)
    received_at: datetime = _ts(index=True)
