"""Running the answers' follow-ups in a test, as the worker's `followups.run` job does.

An answer's themes, its `response.created` event and a detractor's recovery task are made
after commit (feedback.followups): a test that looks for them right after an answer runs the
job once first. The clock is the test's, so the follow-ups due at its time are run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine


def run_followups(engine: Engine, settings: Any, clock: Any) -> int:
    """One run of the worker's follow-ups job (every due follow-up). Returns how many ran."""
    from feedback.followups.tasks import run_followups as job
    from feedback.worker import JobContext

    return int(job(JobContext(engine=engine, settings=settings, clock=clock, worker_id="test",
                              extras={})))
