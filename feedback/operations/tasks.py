"""Jobs of operations: the hourly speed-versus-quality check (idempotent per team, week and
lead through the outbox's dedupe key, so any number of workers may run it)."""

from __future__ import annotations

import logging

from feedback.db import transaction
from feedback.operations import alerts
from feedback.worker import Job, JobContext

log = logging.getLogger(__name__)


def speed_vs_quality(ctx: JobContext) -> int:
    with transaction(ctx.engine) as session:
        queued = alerts.speed_vs_quality(session, now=ctx.now(), settings=ctx.settings)
    if queued:
        log.info("speed-vs-quality: %d alert(s) queued", queued)
    return queued


JOBS = [Job("operations.speed_vs_quality", speed_vs_quality, seconds=3600)]
