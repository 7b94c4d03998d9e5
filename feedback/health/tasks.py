"""The pipeline health job: every `seconds`, one short transaction evaluates every rule (see
service). Any number of workers may run it at once; each incident still opens one alert."""

from __future__ import annotations

from feedback.db import transaction
from feedback.health.service import Pass, run_checks
from feedback.worker import Job, JobContext


def check_pipeline(ctx: JobContext) -> Pass:
    with transaction(ctx.engine) as session:
        return run_checks(session, ctx.settings, ctx.now())


JOBS = [Job("health.check", check_pipeline, seconds=30)]
