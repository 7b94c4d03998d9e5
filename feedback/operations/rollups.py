"""Keeping the operations rollups current: the worker's `operations.rollups` job.

One run, in one transaction (the same shape as the dashboard's `reports.rollups`):
1. take the lock (PostgreSQL advisory transaction lock; SQLite serialises writers), so two
   workers never recompute at once — the second finds nothing left to do;
2. find the rolled-up days that rows it has not seen touch: a new interaction its day and the
   days of the earlier contacts it repeats (it makes them unresolved), a
   new response its contact's day, a dirty mark (an interaction re-sent with other facts, a
   corrected score) the same as an interaction; once every ten minutes also rows above the
   safe watermark (an id is taken at insert, not at commit: a long import commits low ids late);
3. recompute those days, the days that have ended since the last run (capped per run, so
   the first backfill of a big database proceeds in bounded transactions) and the days that
   have settled since, then the month rows of every whole month among them;
4. move the watermarks and delete the dirty marks it read.

A day is rolled up when it ends, so the report reads at most today's rows live. Inferred FCR
of a day is only final once the repeat window after its last contact has passed (the day has
*settled*); until then its rows count no contact as resolved by inference, the reader adds
those whose window has closed (see `rollup_models`), and the job recomputes the day when it
settles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from feedback.db import transaction
from feedback.operations import repository as repo
from feedback.operations.models import DEFAULT_REPEAT_WINDOW, FCR_MEASURES, ITX, QUEUE_MEASURES
from feedback.operations.models import SATISFACTION_MEASURES as SAT
from feedback.operations.rollup_models import (
    DAY,
    MONTH,
    OPS_ROLLUP_DIRTY,
    OPS_ROLLUP_STATE,
    OPS_SATISFACTION_DAILY,
    ROLLUPS,
)
from feedback.reports.figures import local_date, local_midnight, offset_segments, report_zone
from feedback.reports.repository import R, local_day

log = logging.getLogger(__name__)

LOCK_ID = 7_320_613  # arbitrary; the dashboard's rollups take 7_320_612
MAX_DAYS_PER_RUN = 120
COMMIT_LAG = timedelta(minutes=10)  # as in feedback.reports.rollups
WINDOW = DEFAULT_REPEAT_WINDOW
STATE = OPS_ROLLUP_STATE


@dataclass
class RollupRun:
    skipped: bool = False
    days: list[date] = field(default_factory=list)
    rolled_through: date | None = None
    rebuilt: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped, "days": len(self.days), "rebuilt": self.rebuilt,
                "rolled_through": self.rolled_through.isoformat() if self.rolled_through else None}


def mark_dirty(session: Session, *instants: datetime | None) -> None:
    """Say that the contacts at these instants changed in a way ids do not reveal. Cheap: one
    insert without a unique key (concurrent writers never wait on each other)."""
    rows = [{"at": at} for at in {i for i in instants if i is not None}]
    if rows:
        session.execute(sa.insert(OPS_ROLLUP_DIRTY), rows)


def settled_before(now: datetime, tz: ZoneInfo) -> date:
    """The first local day that is not settled yet at `now`."""
    return local_date(now - WINDOW, tz)


def rolled_before(now: datetime, tz: ZoneInfo) -> date:
    """The first local day that is not over yet at `now` (today): the job rolls up the rest."""
    return local_date(now, tz)


# --- recomputing -------------------------------------------------------------------------------


def recompute_days(session: Session, first: date, last: date, tz: ZoneInfo, now: datetime,
                   settled: date) -> None:
    """Recompute every operations rollup for local days first..last (inclusive): delete, then
    insert from the raw rows. Idempotent; the caller's transaction makes it atomic.

    Days before `settled` count every contact without a repeat as resolved (its window has
    closed); later days none (provisional: the reader adds them once their window closes)."""
    closed_before = local_midnight(settled, tz)
    for t in ROLLUPS:
        session.execute(sa.delete(t).where(t.c.span == DAY, t.c.day >= first, t.c.day <= last))
    d = session.get_bind().dialect.name
    for lo, hi, offset in offset_segments(first, last + timedelta(days=1), tz):
        day = local_day(d, ITX.c.occurred_at, offset)
        in_range = [ITX.c.occurred_at >= lo, ITX.c.occurred_at < hi]
        for t, dims in repo.GRAINS:
            keys = [day, *(ITX.c[k] for k in dims)]
            rows: dict[tuple[Any, ...], list[int]] = {}
            width = len(keys)
            zero = [0] * (len(QUEUE_MEASURES) + len(FCR_MEASURES))
            for row in session.execute(repo.queue_stmt(keys, in_range)):
                rows.setdefault(tuple(row[:width]), list(zero))[:len(QUEUE_MEASURES)] = (
                    repo._ints(row[width:]))
            for row in session.execute(repo.fcr_stmt(d, keys, [], lo, hi, window=WINDOW,
                                                     now=now, closed_before=closed_before)):
                rows.setdefault(tuple(row[:width]), list(zero))[len(QUEUE_MEASURES):] = (
                    repo._ints(row[width:]))
            names = ["day", *dims, *QUEUE_MEASURES, *FCR_MEASURES]
            if rows:
                session.execute(sa.insert(t), [dict(zip(names, (*k, *v), strict=True))
                                               for k, v in rows.items()])
        for name in repo.SATISFACTION_GROUPS:
            group = repo.satisfaction_group(name)
            cols = [day, R.c.kind, ITX.c.team, group]
            select = (sa.select(*cols[:3], sa.literal(name, sa.String), group,
                                *repo.satisfaction_measures())
                      .select_from(repo.with_answer(R.join(ITX, ITX.c.id == R.c.interaction_id)))
                      .where(*in_range, R.c.purpose == "survey", repo.answers_of(lo, hi))
                      .group_by(*cols))
            session.execute(sa.insert(OPS_SATISFACTION_DAILY).from_select(
                ["day", "kind", "team", "dimension", "value", *SAT], select))


def recompute_month(session: Session, month: date) -> None:
    """The month rows of every rollup for the calendar month starting at `month`: the sums of
    its day rows (so they equal whatever the day rows say). Only for a month rolled up whole."""
    nxt = repo._next_month(month)
    for t in ROLLUPS:
        session.execute(sa.delete(t).where(t.c.span == MONTH, t.c.day == month))
        dims = [c.name for c in t.c if c.name not in ("id", "day", "span")
                and not isinstance(c.type, sa.BigInteger)]
        measures = [c.name for c in t.c if isinstance(c.type, sa.BigInteger)]
        select = (sa.select(sa.literal(month, sa.Date), sa.literal(MONTH, sa.String),
                            *(t.c[n] for n in dims), *(sa.func.sum(t.c[m]) for m in measures))
                  .where(t.c.span == DAY, t.c.day >= month, t.c.day < nxt)
                  .group_by(*(t.c[n] for n in dims)))
        session.execute(sa.insert(t).from_select(["day", "span", *dims, *measures], select))


def _utc_day(d: str, col: Any) -> Any:
    if d == "postgresql":
        return sa.cast(sa.func.timezone("UTC", col), sa.Date)
    return sa.type_coerce(sa.func.date(col), sa.Date())


def _local_days(lo: datetime, hi: datetime, tz: ZoneInfo) -> set[date]:
    out, day = set(), local_date(lo, tz)
    while day <= local_date(hi, tz):
        out.add(day)
        day += timedelta(days=1)
    return out


def touched_days(session: Session, tz: ZoneInfo, interaction_after: int, response_after: int,
                 dirty: list[datetime]) -> set[date]:
    """Local days whose figures rows above the given ids, or the dirty marks, can change."""
    d = session.get_bind().dialect.name
    out: set[date] = set()
    whole_day = timedelta(days=1) - timedelta(microseconds=1)
    new_contacts = sa.select(_utc_day(d, ITX.c.occurred_at)).where(ITX.c.id > interaction_after)
    repeated = repo.repeated_by_new(d, interaction_after, lambda e: _utc_day(d, e.c.occurred_at))
    for stmt in (new_contacts, repeated):
        for (utc,) in session.execute(stmt.distinct()):
            start = datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
            out |= _local_days(start, start + whole_day, tz)
    answered = (sa.select(_utc_day(d, ITX.c.occurred_at))
                .select_from(R.join(ITX, ITX.c.id == R.c.interaction_id))
                .where(R.c.id > response_after))
    for (utc,) in session.execute(answered.distinct()):
        start = datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
        out |= _local_days(start, start + whole_day, tz)
    for at in dirty:
        out |= _local_days(at - WINDOW, at, tz)
    return out


# --- one run -----------------------------------------------------------------------------------


def _lock(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK_ID))).scalar())


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Contiguous (first, last) runs of days, so each run is one DELETE + INSERT."""
    out: list[tuple[date, date]] = []
    for d in sorted(days):
        if out and d == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def _state(session: Session, tz: ZoneInfo, now: datetime, run: RollupRun) -> Any:
    state = session.execute(sa.select(STATE).where(STATE.c.id == 1)).first()
    if state is not None and state.time_zone == tz.key:
        return state
    # New install, or the report time zone changed: every local day moved, start over.
    for t in ROLLUPS:
        session.execute(sa.delete(t))
    fresh = {"time_zone": tz.key, "rolled_through": None, "settled_through": None,
             "interaction_id": 0, "response_id": 0,
             "safe_interaction_id": 0, "safe_response_id": 0, "pending_interaction_id": 0,
             "pending_response_id": 0, "pending_at": None, "updated_at": now}
    if state is None:
        session.execute(sa.insert(STATE).values(id=1, **fresh))
    else:
        session.execute(sa.update(STATE).where(STATE.c.id == 1).values(**fresh))
    run.rebuilt = True
    return session.execute(sa.select(STATE).where(STATE.c.id == 1)).one()


def refresh(session: Session, tz: ZoneInfo, now: datetime, *, worker: str = "",
            max_days: int = MAX_DAYS_PER_RUN) -> RollupRun:
    """One rollup run inside the caller's transaction (see the module docstring)."""
    if not _lock(session):
        return RollupRun(skipped=True)
    run = RollupRun()
    state = _state(session, tz, now, run)
    target = rolled_before(now, tz)
    settled = settled_before(now, tz)
    hi_itx = int(session.execute(sa.select(sa.func.max(ITX.c.id))).scalar() or 0)
    hi_resp = int(session.execute(sa.select(sa.func.max(R.c.id))).scalar() or 0)
    marks = list(session.execute(sa.select(OPS_ROLLUP_DIRTY.c.id, OPS_ROLLUP_DIRTY.c.at)))
    through = state.rolled_through
    dirty: set[date] = set()
    matured = state.pending_at is None or now - state.pending_at >= COMMIT_LAG
    if through is not None:
        after = ((state.safe_interaction_id, state.safe_response_id) if matured
                 else (state.interaction_id, state.response_id))
        touched = touched_days(session, tz, *after, [at for _, at in marks])
        dirty = {d for d in touched if d < through}
        if len(dirty) > max_days:
            # A big historical import: roll forward again from its first day, in capped runs.
            through, dirty = min(dirty), set()
    first = session.execute(sa.select(sa.func.min(ITX.c.occurred_at))).scalar()
    start = through or (local_date(first, tz) if first is not None else target)
    new_days = []
    day = start
    while day < target and len(new_days) < max_days:
        new_days.append(day)
        day += timedelta(days=1)
    # Rolled-up days whose side of the settled line moved since their rows were written (the
    # day that settled overnight; the other way round only if the clock went back).
    was = state.settled_through if through is not None else None
    if was is not None and was != settled:
        day = min(was, settled)
        while day < max(was, settled) and day < through:
            dirty.add(day)
            day += timedelta(days=1)
    for lo, hi in _runs(dirty | set(new_days)):
        recompute_days(session, lo, hi, tz, now, settled)
    rolled_through = new_days[-1] + timedelta(days=1) if new_days else start
    for month in sorted({d.replace(day=1) for d in dirty | set(new_days)}):
        if repo._next_month(month) <= rolled_through:  # whole month rolled up
            recompute_month(session, month)
    if marks:
        session.execute(sa.delete(OPS_ROLLUP_DIRTY).where(
            OPS_ROLLUP_DIRTY.c.id.in_([i for i, _ in marks])))
    run.days = sorted(dirty | set(new_days))
    run.rolled_through = rolled_through
    values: dict[str, Any] = {"rolled_through": run.rolled_through, "settled_through": settled,
                              "interaction_id": hi_itx,
                              "response_id": hi_resp, "updated_at": now,
                              "updated_by": worker[:100] or None}
    if matured:
        values.update(safe_interaction_id=state.pending_interaction_id,
                      safe_response_id=state.pending_response_id,
                      pending_interaction_id=hi_itx, pending_response_id=hi_resp,
                      pending_at=now)
    session.execute(sa.update(STATE).where(STATE.c.id == 1).values(**values))
    return run


def refresh_job(engine: Engine, settings: Any, now: datetime, worker: str = "") -> RollupRun:
    with transaction(engine) as session:
        run = refresh(session, report_zone(settings), now, worker=worker)
    if run.days:
        log.info("operations rollup: recomputed %d day(s), rolled through %s", len(run.days),
                 run.rolled_through)
    return run


def catch_up(engine: Engine, settings: Any, now: datetime, worker: str = "") -> int:
    """Run until every day before today is rolled up (the first backfill, benchmarks, tests)."""
    total = 0
    target = rolled_before(now, report_zone(settings))
    for _ in range(10_000):
        run = refresh_job(engine, settings, now, worker)
        if run.skipped:
            break
        total += len(run.days)
        if run.rolled_through is None or run.rolled_through >= target:
            break
    return total
