"""Jobs of the reports: keep the daily rollups current, and send the weekly digest.

Both are safe with any number of workers: a rollup run takes a transaction-scoped advisory
lock (PostgreSQL) and recomputes whole days idempotently; the digest is idempotent per
(week, lead) through a unique key (see `digest`).
"""

from __future__ import annotations

import logging

from feedback.reports import digest, rollups
from feedback.worker import Job, JobContext

log = logging.getLogger(__name__)


def refresh_rollups(ctx: JobContext) -> rollups.RollupRun:
    return rollups.refresh_job(ctx.engine, ctx.settings, ctx.now(), ctx.worker_id)


def weekly_digest(ctx: JobContext) -> int:
    queued = digest.send_digests(ctx.engine, ctx.settings, ctx.now())
    if queued:
        log.info("weekly digest queued for %d lead(s)", queued)
    return queued


JOBS = [
    Job("reports.rollups", refresh_rollups, seconds=60),
    Job("reports.digest", weekly_digest, seconds=3600),
]
