"""Pipeline alerts: one row per incident ("the SMS channel is refusing our credentials since
14:02"), opened by the health job, resolved when the condition clears or an admin resolves it.

`open_key` is the alert's key while it is open and NULL once resolved; its unique index is what
makes "one alert per incident across any number of workers" true: a second worker's insert of
the same open incident conflicts and is ignored (NULLs never conflict, so history is kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime


class PipelineAlert(SQLModel, table=True):
    __tablename__ = "pipeline_alert"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100, index=True)  # e.g. channel_config:sms, ingest_silence:*
    open_key: str | None = Field(default=None, max_length=100, unique=True)
    kind: str = Field(max_length=40)  # channel_config, failure_rate, dispatch_stalled, ingest_silence, followups_behind
    summary: str = Field(max_length=500)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON))
    opened_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    resolved_by: str | None = Field(default=None, max_length=200)
