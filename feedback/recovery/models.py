"""Tables of service recovery: tasks, the responses they gather, their history, contact
attempts, and the round-robin state of the recovery team.

Deadlines are indexed columns: `next_due_at` (the nearest open deadline, what the queue sorts
by; NULL once the task is finished) and `sla_next_at` (when the SLA watcher must next look at
the task; NULL when nothing is pending), so both the queue and the watcher read an index range
instead of scanning every task.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import feedback.notifications.models  # noqa: F401  (the outbox's table joins the metadata)
from surveys.types import UTCDateTime, utcnow


def _ts(index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


class TaskStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    CONTACTED = "contacted"
    RESOLVED = "resolved"
    UNREACHABLE = "unreachable"
    CLOSED = "closed"


OPEN = (TaskStatus.NEW, TaskStatus.ASSIGNED, TaskStatus.CONTACTED)
DONE = (TaskStatus.RESOLVED, TaskStatus.UNREACHABLE, TaskStatus.CLOSED)


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


RANK = {Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Outcome(StrEnum):
    RECOVERED = "recovered"
    NOT_RECOVERED = "not_recovered"
    UNREACHABLE = "unreachable"


class ContactChannel(StrEnum):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"


class ContactResult(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"
    WRONG_NUMBER = "wrong_number"
    SENT = "sent"  # an SMS or email went out; a reply is logged as "reached"


class RecoveryTask(SQLModel, table=True):
    __tablename__ = "recovery_task"
    __table_args__ = (
        sa.Index("ix_recovery_task_team_due", "team", "next_due_at"),
        sa.Index("ix_recovery_task_owner_due", "owner_id", "next_due_at"),
        sa.Index("ix_recovery_task_status_due", "status", "next_due_at"),
        # Open tasks only (next_due_at is set exactly while a task is open), with what the
        # queue filters and counts by: its numbers come from the index alone.
        sa.Index("ix_recovery_task_open", "next_due_at", "owner_id", "team", "priority",
                 postgresql_where=sa.text("next_due_at IS NOT NULL"),
                 sqlite_where=sa.text("next_due_at IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    # Equal to customer_id while the task is open, NULL after: the unique constraint is what
    # guarantees one open task per customer even when two answers arrive at the same moment.
    open_customer_id: int | None = Field(default=None, unique=True)
    response_id: int = Field(foreign_key="response.id")  # the answer that opened it
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id")
    kind: str = Field(max_length=10)
    score: int
    classification: str = Field(max_length=20)
    team: str | None = Field(default=None, max_length=200)
    agent: str | None = Field(default=None, max_length=200)
    status: str = Field(default=TaskStatus.NEW, max_length=20)
    priority: str = Field(default=Priority.NORMAL, max_length=10)
    triggers: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON))
    owner_id: int | None = Field(default=None, foreign_key="staff_user.id")
    assigned_at: datetime | None = _ts()
    opened_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), index=True, nullable=False))
    first_contact_due_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    resolution_due_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    first_contact_warn_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    resolution_warn_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    next_due_at: datetime | None = _ts(index=True)
    sla_next_at: datetime | None = _ts(index=True)
    first_contact_at: datetime | None = _ts()
    reached_at: datetime | None = _ts()
    first_contact_warned_at: datetime | None = _ts()
    resolution_warned_at: datetime | None = _ts()
    first_contact_breached_at: datetime | None = _ts()
    resolution_breached_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts(index=True)  # any finish: resolved, unreachable, closed
    outcome: str | None = Field(default=None, max_length=20)
    root_cause: str | None = Field(default=None, max_length=100)
    resolution_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    followup_invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    followup_response_id: int | None = Field(default=None, foreign_key="response.id")
    followup_score: int | None = None
    followup_classification: str | None = Field(default=None, max_length=20)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class RecoveryTaskResponse(SQLModel, table=True):
    """Every answer a task gathered: the first, and later ones that joined the open task."""

    __tablename__ = "recovery_task_response"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="recovery_task.id", index=True)
    # Unique: re-evaluating a response (its comment came later) can never link it twice.
    response_id: int = Field(foreign_key="response.id", unique=True)
    triggers: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON))
    joined_at: datetime = _created()


class RecoveryEvent(SQLModel, table=True):
    """The task's history: every change, who made it and when."""

    __tablename__ = "recovery_event"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="recovery_task.id", index=True)
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor: str = Field(max_length=200)  # a person's name, an API key's name, or "system"
    action: str = Field(max_length=40)
    from_value: str | None = Field(default=None, max_length=200)
    to_value: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class RecoveryContactAttempt(SQLModel, table=True):
    __tablename__ = "recovery_contact_attempt"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="recovery_task.id", index=True)
    at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor: str = Field(max_length=200)
    channel: str = Field(max_length=10)
    result: str = Field(max_length=20)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    message: str | None = Field(default=None, sa_column=sa.Column(sa.Text))  # SMS/email text
    address: str | None = Field(default=None, max_length=320)
    notification_id: int | None = Field(default=None, foreign_key="notification.id")


class RecoveryAssignee(SQLModel, table=True):
    """Round-robin state per recovery member: whoever was assigned longest ago goes next.

    `last_seq` is a global counter rather than a timestamp, so two assignments within one clock
    tick (or under a frozen test clock) still rotate.
    """

    __tablename__ = "recovery_assignee"

    user_id: int = Field(foreign_key="staff_user.id", primary_key=True)
    last_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    last_assigned_at: datetime | None = _ts()
    assigned_total: int = 0
