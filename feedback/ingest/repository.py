"""Queries of ingest's import jobs: create, read, and the worker's claim / progress / finish.

The claim is a conditional UPDATE (a queued job, or a running one whose worker stopped renewing
its lease), so two workers never run one file and a killed worker's file is picked up again —
safely, because an import is one transaction: a killed run wrote nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from feedback.db import claim_next
from feedback.ingest.models import ImportJob, ImportStatus

LEASE = timedelta(minutes=5)  # renewed with every progress write
MAX_PROBLEMS = 200  # kept on the job (and shown); problem_count has them all
_J = ImportJob.__table__  # type: ignore[attr-defined]


def create(session: Session, *, name: str, content: bytes, mode: str, skip_invalid: bool,
           schedule: bool, created_by: int | None, now: datetime) -> ImportJob:
    job = ImportJob(name=name[:200], content=content, size=len(content), mode=mode,
                    skip_invalid=skip_invalid, schedule=schedule, created_by=created_by,
                    created_at=now)
    session.add(job)
    session.flush()
    return job


def visible(session: Session, job_id: int, user_id: int | None, *, every: bool) -> ImportJob | None:
    """A job its caller may read: their own, or any for `every` (admins)."""
    job = session.get(ImportJob, job_id)
    if job is None or not (every or job.created_by == user_id):
        return None
    return job


def recent(session: Session, user_id: int | None, *, every: bool, limit: int = 10) -> list[ImportJob]:
    query = select(ImportJob).order_by(sa.desc(_J.c.id)).limit(limit)
    if not every:
        query = query.where(ImportJob.created_by == user_id)
    return list(session.exec(query).all())


def claim(engine: Engine, worker: str, now: datetime) -> ImportJob | None:
    """The oldest due job, now this worker's; None when nothing is due."""
    job_id = claim_next(engine, _J, worker=worker, now=now, lease=LEASE, bytes_done=0, rows=0)
    if job_id is None:
        return None
    with Session(engine, expire_on_commit=False) as session:
        return session.get(ImportJob, job_id)


def progress(engine: Engine, job_id: int, worker: str, now: datetime, **counts: int) -> None:
    """Counts so far, in a short transaction of their own (the page reads them), and a renewed
    lease. Only while this worker still holds the job."""
    with engine.begin() as conn:
        conn.execute(_J.update().where(_J.c.id == job_id, _J.c.worker == worker,
                                       _J.c.status == ImportStatus.RUNNING)
                     .values(lease_until=now + LEASE, **counts))


def finish(engine: Engine, job_id: int, worker: str, now: datetime, *, status: str,
           problems: list[str], error: str | None = None, **counts: int) -> bool:
    """The outcome; the file is dropped (the rows are in the database now, or refused)."""
    with engine.begin() as conn:
        done = conn.execute(_J.update().where(_J.c.id == job_id, _J.c.worker == worker,
                                              _J.c.status == ImportStatus.RUNNING).values(
            status=status, content=None, finished_at=now, lease_until=None,
            problems=problems[:MAX_PROBLEMS], problem_count=len(problems),
            error=(error or None) and error[:2000], **counts)).rowcount
    return bool(done == 1)
