"""Jobs of operations: the daily rollups (a locked, idempotent run every minute) and the hourly
speed-versus-quality check (idempotent per team, week and lead through the outbox's dedupe
key). Any number of workers may run both."""

from __future__ import annotations

import logging

from feedback.db import transaction
from feedback.operations import alerts, rollups
from feedback.worker import Job, JobContext

log = logging.getLogger(__name__)


def speed_vs_quality(ctx: JobContext) -> int:
    with transaction(ctx.engine) as session:
        queued = alerts.speed_vs_quality(session, now=ctx.now(), settings=ctx.settings)
    if queued:
        log.info("speed-vs-quality: %d alert(s) queued", queued)
    return queued


def refresh_rollups(ctx: JobContext) -> rollups.RollupRun:
    return rollups.refresh_job(ctx.engine, ctx.settings, ctx.now(), ctx.worker_id)


JOBS = [Job("operations.rollups", refresh_rollups, seconds=60),
        Job("operations.speed_vs_quality", speed_vs_quality, seconds=3600)]
