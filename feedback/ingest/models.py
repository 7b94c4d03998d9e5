"""Tables of ingest: a CSV file uploaded in the web UI, checked or imported by the worker.

The file itself is kept in the row (at most the upload limit, 10 MB) so a worker on another
machine can read it, and dropped once the job is finished: customer contact data does not
linger in the database after it has been imported."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime, utcnow


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  # claimed by a worker until lease_until
    DONE = "done"
    FAILED = "failed"  # the file was refused (bad rows without skip, broken CSV): nothing written


class ImportMode(StrEnum):
    DRY_RUN = "dry_run"
    IMPORT = "import"


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_job"
    # The worker's scan: queued jobs, and running ones whose worker stopped renewing its lease.
    __table_args__ = (sa.Index("ix_import_job_status_lease", "status", "lease_until"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    mode: str = Field(default=ImportMode.DRY_RUN, max_length=10)
    skip_invalid: bool = False
    schedule: bool = True  # schedule surveys for new interactions (False: history)
    status: str = Field(default=ImportStatus.QUEUED, max_length=10)
    content: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary()))
    size: int = 0
    bytes_done: int = 0
    rows: int = 0
    imported: int = 0
    created: int = 0
    surveys_scheduled: int = 0
    skipped: int = 0
    problem_count: int = 0
    # The first problems, by line ("line 4: channel: …"); problem_count has them all.
    problems: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    error: str | None = Field(default=None, max_length=2000)
    created_by: int | None = None  # the user's id
    worker: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=sa.Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
