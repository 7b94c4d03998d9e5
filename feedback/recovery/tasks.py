"""Jobs of service recovery: the SLA watcher and the notification outbox's delivery.

The watcher reads only tasks whose `sla_next_at` has come (an index range), a batch at a time,
each batch one transaction. On PostgreSQL the batch is locked FOR UPDATE SKIP LOCKED, so two
workers split the work instead of doing it twice; the outbox's unique dedupe keys are the
second guarantee that each warning and escalation goes out exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from feedback.auth.models import User
from feedback.db import transaction
from feedback.notifications.delivery import deliver_due
from feedback.notifications.outbox import enqueue_many
from feedback.recovery import alerts
from feedback.recovery.models import OPEN, RecoveryTask
from feedback.recovery.service import SYSTEM, record, schedule
from feedback.worker import Job, JobContext
from surveys.models import Customer

log = logging.getLogger(__name__)
WINDOWS = ("first_contact", "resolution")


@dataclass
class SlaReport:
    tasks: int = 0
    warnings: int = 0
    breaches: int = 0
    notifications: int = 0


def check_task(session: Session, task: RecoveryTask, *, now: datetime, settings: Any,
               report: SlaReport, leads: list[User], outbox: list[dict[str, Any]]) -> None:
    """Handle every warning and breach of this task that is due and not yet handled; the
    notifications it owes are appended to `outbox` (inserted by the caller, per batch).

    A breach already puts the task in front of its leads: a "due soon" warning of the other
    window in the same pass is recorded as handled but not sent (two e-mails about one task
    in the same minute, one saying "soon" and one "missed", read as a muddle)."""
    breached = False
    for window in WINDOWS:
        if window == "first_contact" and task.first_contact_at is not None:
            continue
        due: datetime = getattr(task, f"{window}_due_at")
        if getattr(task, f"{window}_breached_at") is None and now >= due:
            setattr(task, f"{window}_breached_at", now)
            # A warning that was never sent is moot once the deadline has passed.
            if getattr(task, f"{window}_warned_at") is None:
                setattr(task, f"{window}_warned_at", now)
            rows = alerts.escalation(session, task, window, now=now, settings=settings, leads=leads)
            record(session, task, SYSTEM, "breach", now, after=window,
                   note=f"{alerts.WINDOW_LABEL[window]} deadline {due:%Y-%m-%d %H:%M} UTC missed; "
                        f"{len(rows)} escalation(s) queued")
            report.breaches += 1
            breached = True
        elif getattr(task, f"{window}_warned_at") is None and now >= getattr(task, f"{window}_warn_at"):
            setattr(task, f"{window}_warned_at", now)
            if breached:
                continue
            rows = alerts.warning(session, task, window, now=now, settings=settings, leads=leads)
            record(session, task, SYSTEM, "warning", now, after=window,
                   note=f"{alerts.WINDOW_LABEL[window]} due {due:%Y-%m-%d %H:%M} UTC; "
                        f"{len(rows)} warning(s) queued")
            report.warnings += 1
        else:
            continue
        outbox.extend(rows)
    schedule(task)
    session.add(task)


def _prefetch(session: Session, tasks: list[RecoveryTask]) -> list[Any]:
    """Load the batch's owners and customers in two queries: the notifications read them with
    session.get, which then finds them in the identity map. The identity map holds objects
    weakly, so the caller keeps the returned list for as long as the batch runs."""
    owners = {t.owner_id for t in tasks if t.owner_id is not None}
    people = list(session.exec(select(User).where(User.id.in_(owners))).all()) if owners else []  # type: ignore[union-attr]
    return people + list(session.exec(select(Customer).where(
        Customer.id.in_({t.customer_id for t in tasks}))).all())  # type: ignore[attr-defined]


def scan_sla(engine: Engine, settings: Any, now: datetime, *, batch: int = 200,
             max_batches: int = 50) -> SlaReport:
    """One pass of the watcher over every task with a due SLA event (up to max_batches)."""
    report = SlaReport()
    for _ in range(max_batches):
        with transaction(engine) as session:
            stmt = (select(RecoveryTask)
                    .where(RecoveryTask.sla_next_at <= now,  # type: ignore[operator]
                           RecoveryTask.status.in_([s.value for s in OPEN]))  # type: ignore[attr-defined]
                    .order_by(RecoveryTask.sla_next_at).limit(batch)  # type: ignore[arg-type]
                    .with_for_update(skip_locked=True))
            tasks = list(session.exec(stmt).all())
            if tasks:
                loaded = _prefetch(session, tasks)  # noqa: F841 - kept alive for the batch
                leads, outbox = alerts.active_leads(session), []
                for task in tasks:
                    check_task(session, task, now=now, settings=settings, report=report,
                               leads=leads, outbox=outbox)
                report.notifications += enqueue_many(session, outbox)
            report.tasks += len(tasks)
        if len(tasks) < batch:
            break
    return report


def sla_watch(ctx: JobContext) -> SlaReport:
    report = scan_sla(ctx.engine, ctx.settings, ctx.now(), batch=ctx.settings.worker_batch_size * 4)
    if report.tasks:
        log.info("SLA watcher: %d task(s), %d warning(s), %d breach(es), %d notification(s)",
                 report.tasks, report.warnings, report.breaches, report.notifications)
    return report


def deliver_notifications(ctx: JobContext) -> int:
    """Send due outbox rows until none is left (or 20 batches: let other jobs breathe)."""
    sent = 0
    for _ in range(20):
        report = deliver_due(ctx.engine, ctx.settings, ctx.clock, worker=ctx.worker_id,
                             client=ctx.extras.get("httpx"), limit=ctx.settings.worker_batch_size,
                             extras=ctx.extras)
        sent += report.sent
        # Not "fewer than a batch": event rows go one per subject per claim (their order), so a
        # short batch may still leave the next event of a subject due at once.
        if report.sent + report.retried + report.failed == 0:
            break
    return sent


JOBS = [
    Job("recovery.sla_watch", sla_watch, seconds=60),
    Job("notifications.deliver", deliver_notifications, seconds=15),
]
