"""Keeping the rollups current: the worker's `reports.rollup` job.

One run, in one transaction:
1. take the rollup lock (PostgreSQL advisory transaction lock; SQLite serialises writers), so
   two workers never recompute at once — the second one simply finds nothing left to do;
2. find the days touched by rows it has not seen (ids above the last run's), and, once every
   ten minutes, by rows above the safe watermark (late commits of lower ids);
3. recompute those days and the days that have ended since the last run (capped per run, so
   the first backfill of a large database proceeds in bounded transactions);
4. move the watermarks.

Today is never rolled up: readers take it from live rows, so a new answer shows at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from feedback.db import transaction
from feedback.reports import repository as repo
from feedback.reports.figures import local_date, report_zone
from feedback.reports.models import ReportRollupState

log = logging.getLogger(__name__)

LOCK_ID = 7_320_612  # arbitrary, distinct from the migration lock
MAX_DAYS_PER_RUN = 120
# An id is taken when a row is inserted, not when it commits: a transaction still open when a
# run reads max(id) may commit a lower id later. Runs therefore rescan ids newer than the
# watermark they recorded at least this long ago; no import transaction should last longer.
COMMIT_LAG = timedelta(minutes=10)


@dataclass
class RollupRun:
    skipped: bool = False
    days: list[date] = field(default_factory=list)
    rolled_through: date | None = None
    rebuilt: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped, "days": len(self.days), "rebuilt": self.rebuilt,
                "rolled_through": self.rolled_through.isoformat() if self.rolled_through else None}


def _lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK_ID))).scalar())


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Contiguous (first, last) runs of sorted days, so each run is one DELETE + INSERT."""
    out: list[tuple[date, date]] = []
    for d in sorted(set(days)):
        if out and d == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def refresh(session: Session, tz: ZoneInfo, now: datetime, *, worker: str = "",
            max_days: int = MAX_DAYS_PER_RUN) -> RollupRun:
    """One rollup run inside the caller's transaction (see the module docstring)."""
    if not _lock(session):
        return RollupRun(skipped=True)
    run = RollupRun()
    state = session.get(ReportRollupState, 1)
    if state is None or state.time_zone != tz.key:
        # New install, or the report time zone changed: every local day moved, start over.
        repo.clear_rollups(session)
        if state is None:
            state = ReportRollupState(id=1, time_zone=tz.key)
            session.add(state)
        state.time_zone, state.rolled_through = tz.key, None
        state.response_id = state.invitation_id = 0
        state.safe_response_id = state.safe_invitation_id = 0
        state.pending_response_id = state.pending_invitation_id = 0
        state.pending_at = None
        run.rebuilt = True
    today = local_date(now, tz)
    hi_resp, hi_inv = repo.max_ids(session)
    through = state.rolled_through
    dirty: set[date] = set()
    matured = state.pending_at is None or now - state.pending_at >= COMMIT_LAG
    if through is not None:
        # Rows new since the last run always; the ids of the previous window once more when it
        # has matured (every transaction that took one of them has committed by then). Not
        # rescanning that window on every run is what lets a backfill finish.
        after = ((state.safe_response_id, state.safe_invitation_id) if matured
                 else (state.response_id, state.invitation_id))
        touched = repo.touched_days(session, tz, *after)
        dirty = {d for d in touched if d < through}
        if len(dirty) > max_days:
            # A big historical import: roll forward again from its first day, in capped runs.
            through, dirty = min(dirty), set()
    start = through or repo.first_day(session, tz) or today
    new_days = []
    day = start
    while day < today and len(new_days) < max_days:
        new_days.append(day)
        day += timedelta(days=1)
    for first, last in _runs([*dirty, *new_days]):
        repo.recompute_days(session, first, last, tz)
    run.days = sorted(dirty | set(new_days))
    state.rolled_through = run.rolled_through = new_days[-1] + timedelta(days=1) if new_days else (
        through if through is not None else start)
    state.response_id, state.invitation_id = hi_resp, hi_inv
    if matured:
        state.safe_response_id = state.pending_response_id
        state.safe_invitation_id = state.pending_invitation_id
        state.pending_response_id, state.pending_invitation_id = hi_resp, hi_inv
        state.pending_at = now
    state.updated_at, state.updated_by = now, worker[:100] or None
    return run


def refresh_job(engine: Engine, settings: Any, now: datetime, worker: str = "") -> RollupRun:
    with transaction(engine) as session:
        run = refresh(session, report_zone(settings), now, worker=worker)
    if run.days:
        log.info("reports rollup: recomputed %d day(s), rolled through %s", len(run.days),
                 run.rolled_through)
    return run


def catch_up(engine: Engine, settings: Any, now: datetime, worker: str = "") -> int:
    """Run until every past day is rolled up (the first backfill, benchmarks, tests)."""
    total = 0
    for _ in range(10_000):
        run = refresh_job(engine, settings, now, worker)
        if run.skipped:
            break
        total += len(run.days)
        if run.rolled_through is None or run.rolled_through >= local_date(now, report_zone(settings)):
            break
    return total
