"""The worker: APScheduler running every domain's periodic jobs.

Each domain declares its schedules next to its jobs, in its `tasks.py`:

    JOBS = [Job("outreach.dispatch", dispatch_due, seconds=10)]

A job receives a `JobContext` and must be idempotent and safe with several workers on one
PostgreSQL: it finds due rows by an indexed deadline column, claims them atomically (conditional
UPDATE / FOR UPDATE SKIP LOCKED with a lease) and commits per small batch. APScheduler only
decides *when* to look; the database decides *who* does the work — so a killed worker loses
nothing and two workers never do the same thing twice.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from surveys.types import utcnow

log = logging.getLogger(__name__)

# Modules whose `JOBS` list the worker runs (each one has the list, even if empty).
TASK_MODULES = [
    "outreach.tasks",
    "feedback.ingest.tasks",
    "feedback.recovery.tasks",
    "feedback.insights.tasks",
    "feedback.reports.tasks",
    "feedback.health.tasks",
    "feedback.privacy.tasks",
    "feedback.operations.tasks",
    "feedback.integrations.tasks",
    "feedback.followups.tasks",
]


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[JobContext], Any]
    seconds: float | None = None  # run every N seconds …
    cron: dict[str, Any] | None = None  # … or on a cron schedule, e.g. {"day_of_week": "mon", "hour": 8}
    every_setting: str | None = None  # the name of a setting that overrides `seconds`


@dataclass
class JobContext:
    engine: Engine
    settings: Any
    clock: Callable[[], datetime] = utcnow
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    extras: dict[str, Any] = field(default_factory=lambda: default_extras())  # e.g. channels

    def now(self) -> datetime:
        return self.clock()


def default_extras() -> dict[str, Any]:
    """What jobs of packages that may not import the application get from it: the message
    catalogs (outreach words its invitations with them) and `events`, the integrations'
    emit for a Connection (outreach emits survey.sent / survey.failed with it), and
    `live_policy`, the policies edited in the product (quiet hours, fatigue, branding)."""
    from feedback import i18n
    from feedback.configuration.policies import live
    from feedback.integrations.events import emit_conn

    return {"catalog": i18n, "events": emit_conn, "live_policy": live}



def collect_jobs(modules: list[str] | None = None) -> list[Job]:
    jobs: list[Job] = []
    for name in modules or TASK_MODULES:
        jobs.extend(importlib.import_module(name).JOBS)
    return jobs


def run_job(job: Job, ctx: JobContext) -> Any:
    try:
        return job.func(ctx)
    except Exception:  # one failing run must not stop the schedule; the next run retries
        log.exception("job %s failed", job.name)
        return None


def job_seconds(job: Any, settings: Any) -> float:
    """A job's interval: its setting when it names one (FEEDBACK_WORKER_POLL_SECONDS for
    dispatch), else its declared seconds, else a minute."""
    name = getattr(job, "every_setting", None)
    value = getattr(settings, name, None) if name else None
    return float(value or job.seconds or 60)


def build_scheduler(ctx: JobContext, jobs: list[Job], *, blocking: bool) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    for job in jobs:
        if job.cron is not None:
            trigger: Any = CronTrigger(timezone="UTC", **job.cron)
        else:
            trigger = IntervalTrigger(seconds=job_seconds(job, ctx.settings))
        # coalesce + one instance: a slow run is never stacked on top of itself in a process.
        scheduler.add_job(run_job, trigger, args=[job, ctx], id=job.name, name=job.name,
                          coalesce=True, max_instances=1, misfire_grace_time=30)
    return scheduler


def make_context(settings: Any, engine: Engine | None = None) -> JobContext:
    from feedback.db import make_engine

    return JobContext(engine=engine or make_engine(settings.database_url), settings=settings)


class WorkerStartFailed(Exception):
    """The database stayed unreachable through every start-up attempt."""


def prepare_with_retry(settings: Any, engine: Engine, *, attempts: int = 6,
                       first_delay: float = 0.5, max_delay: float = 8.0,
                       sleep: Callable[[float], None] = time.sleep) -> None:
    """Migrate/check the schema, riding out a database blip (a restart, a failover, an
    administrator's `pg_terminate_backend`): connection errors are retried with exponential
    backoff (0.5 s, 1 s, 2 s … at most `max_delay`), then reported as one clear error.
    Anything else (a wrong schema, bad settings) fails at once: waiting would not fix it."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from feedback.app import prepare_database

    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            prepare_database(settings, engine)
            return
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            if attempt == attempts:
                raise WorkerStartFailed(
                    f"the database is unreachable after {attempts} attempts: {reason}") from exc
            log.warning("database not ready (attempt %d of %d: %s); retrying in %.1f s",
                        attempt, attempts, reason, delay)
            engine.dispose()  # drop connections the blip may have killed
            sleep(delay)
            delay = min(delay * 2, max_delay)


def run_worker(settings: Any) -> None:
    """`feedback worker`: run every job until interrupted."""
    ctx = make_context(settings)
    prepare_with_retry(settings, ctx.engine)
    jobs = collect_jobs()
    log.info("worker %s starting %d jobs: %s", ctx.worker_id, len(jobs),
             ", ".join(j.name for j in jobs))
    scheduler = build_scheduler(ctx, jobs, blocking=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        ctx.engine.dispose()


def in_process_worker(settings: Any) -> Callable[[Any], Callable[[], None]]:
    """A lifespan hook for `feedback serve --demo`: the worker's jobs run in the web process."""

    def start(app: Any) -> Callable[[], None]:
        ctx = JobContext(engine=app.state.engine, settings=settings, clock=app.state.clock)
        scheduler = build_scheduler(ctx, collect_jobs(), blocking=False)
        scheduler.start()
        stopped = threading.Event()

        def stop() -> None:
            if not stopped.is_set():
                stopped.set()
                scheduler.shutdown(wait=False)

        return stop

    return start
