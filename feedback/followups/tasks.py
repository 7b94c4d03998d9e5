"""The follow-ups job: runs the after-commit follow-ups of answers (feedback.followups.service).

Its own short interval (`FEEDBACK_FOLLOWUP_POLL_SECONDS`, 1 s, at most 5 s) rather than the
notifications' 15 s: a detractor's recovery task is owed within seconds of the answer.
"""

from __future__ import annotations

import logging

from feedback.followups.service import drain
from feedback.worker import Job, JobContext

log = logging.getLogger(__name__)


def run_followups(ctx: JobContext) -> int:
    """Drain due follow-ups (at most 20 batches a run: let other jobs breathe)."""
    n = drain(ctx.engine, ctx.settings, ctx.clock, worker=ctx.worker_id,
              limit=ctx.settings.worker_batch_size, max_passes=20)
    if n:
        log.info("follow-ups: %d answer(s) followed up", n)
    return n


JOBS = [Job("followups.run", run_followups, seconds=1, every_setting="followup_poll_seconds")]
