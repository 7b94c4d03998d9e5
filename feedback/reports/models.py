"""Rollup tables: per local day, what the reports would otherwise count from 1M raw rows.

Each rollup row holds sufficient statistics (counts, sum and sum of squares of the score), so
any KPI with its margin of error can be computed from SUMs of rollup rows exactly as from raw
responses. Two grains, because a daily row per agent barely compresses (an agent gets a few
answers a day) while a row per team/channel/queue compresses ~30x: a report that needs no agent
reads `report_response_daily`, one that does reads `report_agent_daily`.

Rows are never updated: the worker recomputes whole days (DELETE + INSERT ... SELECT in one
transaction), so there is no unique key to maintain and a day with a daylight-saving change may
hold two rows per combination (one per UTC offset); readers always SUM.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.models import Invitation
from surveys.types import UTCDateTime, utcnow

# "Responses per invitation" reads invitations by the day they were sent; without this index
# every rollup run and every live read of today would scan the whole invitation table.
INVITATION_SENT_AT = sa.Index("ix_invitation_sent_at", Invitation.__table__.c.sent_at)  # type: ignore[attr-defined]


def _day() -> date:
    return Field(sa_column=sa.Column(sa.Date(), nullable=False, index=True))  # type: ignore[no-any-return]


class _Measures(SQLModel):
    n: int = 0
    positive: int = 0  # promoters, satisfied, easy
    passive: int = 0  # passives, neutral
    negative: int = 0  # detractors, dissatisfied, difficult
    score_sum: int = 0
    score_sumsq: int = 0


class ReportResponseDaily(_Measures, table=True):
    __tablename__ = "report_response_daily"

    id: int | None = Field(default=None, primary_key=True)
    day: date = _day()
    kind: str = Field(max_length=10)
    team: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=20)
    queue: str | None = Field(default=None, max_length=200)


class ReportAgentDaily(_Measures, table=True):
    __tablename__ = "report_agent_daily"

    id: int | None = Field(default=None, primary_key=True)
    day: date = _day()
    kind: str = Field(max_length=10)
    team: str | None = Field(default=None, max_length=200)
    agent: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=20)
    queue: str | None = Field(default=None, max_length=200)


class ReportHourly(SQLModel, table=True):
    """Responses and negative responses per local weekday x hour of their interaction (day:
    the answer's local day, so the period filter matches the KPIs), for the heatmap."""

    __tablename__ = "report_hourly"

    id: int | None = Field(default=None, primary_key=True)
    day: date = _day()
    weekday: int  # ISO: 1 = Monday … 7 = Sunday, of the interaction
    hour: int  # 0-23, local, of the interaction
    kind: str = Field(max_length=10)
    team: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=20)
    n: int = 0
    negative: int = 0


class ReportInvitationDaily(SQLModel, table=True):
    """Invitations sent per local day, and how many of those were answered (response rate)."""

    __tablename__ = "report_invitation_daily"

    id: int | None = Field(default=None, primary_key=True)
    day: date = _day()
    kind: str = Field(max_length=10)
    team: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=20)
    queue: str | None = Field(default=None, max_length=200)
    sent: int = 0
    answered: int = 0


class ReportRollupState(SQLModel, table=True):
    """One row: how far the rollups reach, and which rows they have already seen.

    - `rolled_through`: every local day before it is in the rollups (today never is).
    - `response_id` / `invitation_id`: the highest ids seen by the last run. A row with a
      higher id that belongs to an earlier day (a historical import) makes readers fall back
      to live rows from that day on until the next run has recomputed it.
    - `safe_*_id`: ids below which every transaction had committed when a run scanned them.
      Runs rescan from here, because an id is handed out when a row is inserted, not when it
      commits: a long import may commit an id lower than one a run has already seen.
    """

    __tablename__ = "report_rollup_state"

    id: int = Field(default=1, primary_key=True)
    time_zone: str = Field(max_length=64)
    rolled_through: date | None = Field(default=None, sa_column=sa.Column(sa.Date()))
    response_id: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    invitation_id: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    safe_response_id: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    safe_invitation_id: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    pending_response_id: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    pending_invitation_id: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    pending_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_by: str | None = Field(default=None, max_length=100)


class ReportDigest(SQLModel, table=True):
    """One weekly digest e-mail to one lead. The unique key is what lets two workers race."""

    __tablename__ = "report_digest"
    __table_args__ = (
        sa.UniqueConstraint("week_start", "recipient", name="uq_report_digest_week_recipient"),
    )

    id: int | None = Field(default=None, primary_key=True)
    week_start: date = Field(sa_column=sa.Column(sa.Date(), nullable=False))
    recipient: str = Field(max_length=320)
    status: str = Field(default="pending", max_length=10)  # pending, sending, sent, failed
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    provider_id: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
