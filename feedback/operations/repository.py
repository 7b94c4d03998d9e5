"""SQL of the operations report: sufficient statistics of contacts, added up by the database.

Contacts are chosen by `occurred_at` in the report period (local days, as on the dashboard)
and by the team / channel / agent / queue filters; the survey-kind filter only narrows the
satisfaction side. Every reader returns plain numbers for `formulas`; nothing here pulls one
row per contact into Python, so the report stays fast over millions of contacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from feedback.operations.formulas import QueueCounts
from feedback.operations.models import (
    ASYNC_CHANNELS,
    DEFAULT_REPEAT_WINDOW,
    FCR_MEASURES,
    ITX,
    QUEUE_MEASURES,
    RESOLVED_QUESTION,
    SATISFACTION_MEASURES,
    SHORT_ABANDON_SECONDS,
)
from feedback.operations.rollup_models import (
    AGENT_DIMS,
    DAY,
    MONTH,
    OPS_AGENT_DAILY,
    OPS_DAILY,
    OPS_DIMS,
    OPS_ROLLUP_DIRTY,
    OPS_ROLLUP_STATE,
    OPS_SATISFACTION_DAILY,
)
from feedback.recovery.models import RecoveryTask
from feedback.reports.figures import Filters, local_date, local_midnight, offset_segments
from feedback.reports.repository import NEG, POS, R, local_day
from surveys.models import ResponseAnswer

Row = tuple[Any, ...]


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def contact_where(f: Filters, t: Any = ITX) -> list[Any]:
    """The period and the dimension filters on `interaction` (not the survey kind)."""
    dims = {k: v for k, v in f.dims().items() if k != "kind"}
    return [t.c.occurred_at >= f.start, t.c.occurred_at < f.end,
            *(t.c[k] == v for k, v in dims.items())]


# --- building blocks ---------------------------------------------------------------------------

_abandoned = ITX.c.abandoned == sa.true()
_offered = sa.or_(ITX.c.abandoned.is_not(None), ITX.c.wait_seconds.is_not(None),
                  ITX.c.answered_at.is_not(None), ITX.c.talk_seconds.is_not(None))
_handled = sa.and_(_offered, sa.func.coalesce(ITX.c.abandoned, sa.false()) == sa.false())
HANDLE = (ITX.c.talk_seconds + sa.func.coalesce(ITX.c.hold_seconds, 0)
          + sa.func.coalesce(ITX.c.wrap_seconds, 0))
_with_handle = sa.and_(_handled, ITX.c.talk_seconds.is_not(None))
_with_wait = sa.and_(_handled, ITX.c.wait_seconds.is_not(None))
_frt = sa.and_(ITX.c.channel.in_(ASYNC_CHANNELS), ITX.c.first_response_seconds.is_not(None))


# The answer to the survey's "was your issue resolved?" question, one row per response at most
# (unique on response and question), so joining it never multiplies rows.
ANSWER = ResponseAnswer.__table__.alias("resolved_answer")  # type: ignore[attr-defined]
CUSTOMER_SAID = sa.case((ANSWER.c.value == "yes", 1), (ANSWER.c.value == "no", 0),
                        (R.c.resolved == sa.true(), 1), (R.c.resolved == sa.false(), 0),
                        else_=None)


def with_answer(joined: Any) -> Any:
    """`joined` (which holds `response`) with the customer's "resolved?" answer beside it."""
    return joined.outerjoin(ANSWER, sa.and_(ANSWER.c.response_id == R.c.id,
                                            ANSWER.c.question_id == RESOLVED_QUESTION))


def _count(cond: Any) -> Any:
    return sa.func.sum(sa.case((cond, 1), else_=0))


def _sum(cond: Any, value: Any) -> Any:
    return sa.func.sum(sa.case((cond, value), else_=0))


def queue_measures() -> list[Any]:
    """Aggregates in the order of `QueueCounts`' fields."""
    frt = ITX.c.first_response_seconds
    return [
        sa.func.count(), _count(_offered), _count(_handled), _count(_abandoned),
        _count(sa.and_(_abandoned, ITX.c.wait_seconds <= SHORT_ABANDON_SECONDS)),
        _count(_with_wait), _sum(_with_wait, ITX.c.wait_seconds),
        _sum(_with_wait, ITX.c.wait_seconds * ITX.c.wait_seconds),
        _count(_with_handle), _sum(_with_handle, HANDLE), _sum(_with_handle, HANDLE * HANDLE),
        _count(ITX.c.transfers.is_not(None)), sa.func.coalesce(sa.func.sum(ITX.c.transfers), 0),
        _count(ITX.c.transfers > 0),
        _count(ITX.c.resolved.is_not(None)), _count(ITX.c.resolved == sa.true()),
        _count(_frt), _sum(_frt, frt), _sum(_frt, frt * frt),
        _count(ITX.c.blocked == sa.true()),
    ]


def answers_of(lo: Any, hi: Any) -> Any:
    """A condition on `response` that is true for every answer about a contact in [lo, hi):
    its interaction id lies between the least and the greatest id of those contacts.

    Redundant with the join, and there for the planner: without it PostgreSQL joins a week
    of contacts to their answers by reading the whole response table (1M rows); with it, an
    index range scan on response.interaction_id (ids grow with time, so a week of contacts is
    a narrow range). Correct whatever the ids: it only ever widens to every answer."""
    period = ITX.alias("contacts_in_period")

    def bound(fn: Any) -> Any:
        # `id + 0`: min(id) alone is planned as a walk along the primary key, filtering on
        # the time (a million rows for last week); this reads the period by its index.
        return (sa.select(fn(period.c.id + 0))
                .where(period.c.occurred_at >= lo, period.c.occurred_at < hi).scalar_subquery())

    return R.c.interaction_id.between(bound(sa.func.min), bound(sa.func.max))


def satisfaction_measures() -> list[Any]:
    """n, positive, negative, sum, sum of squares of responses (as `figures.Counts.add`)."""
    return [sa.func.count(), _count(R.c.classification.in_(POS)),
            _count(R.c.classification.in_(NEG)), sa.func.sum(R.c.score),
            sa.func.sum(R.c.score * R.c.score)]


def band(value: Any, bands: Sequence[tuple[int, str]]) -> Any:
    """CASE mapping seconds (or a count) to the label of its band; NULL stays NULL."""
    whens = [(value >= lo, label) for lo, label in reversed(bands[1:])]
    return sa.case((value.is_(None), None), *whens, else_=bands[0][1])


# --- which days come from rollups --------------------------------------------------------------


@dataclass(frozen=True)
class OpsView:
    """Local days before `until` are read from the rollups; None: everything live. Rolled-up
    days from `settled` on are provisional (inferred FCR: only repeats counted)."""

    until: date | None = None
    settled: date | None = None


GRAINS = ((OPS_DAILY, OPS_DIMS), (OPS_AGENT_DAILY, AGENT_DIMS))


def ops_view(session: Session, tz: ZoneInfo) -> OpsView:
    """Where the rollups can be trusted, checked against what they have not seen yet: a row
    above the last run's ids or a change marked dirty moves the boundary back to its day (an
    interaction also to the day of each earlier contact it repeats; a dirty mark to the repeat
    window before it), so a reader never serves a stale figure; the next run moves it
    forward again."""
    state = session.execute(sa.select(OPS_ROLLUP_STATE).where(OPS_ROLLUP_STATE.c.id == 1)).first()
    if state is None or state.rolled_through is None or state.time_zone != tz.key:
        return OpsView()
    until = state.rolled_through
    new = [
        session.execute(sa.select(sa.func.min(ITX.c.occurred_at))
                        .where(ITX.c.id > state.interaction_id)).scalar(),
        session.execute(repeated_by_new(dialect(session), state.interaction_id,
                                        lambda e: sa.func.min(e.c.occurred_at))).scalar(),
    ]
    for instant in new:
        if instant is not None:
            until = min(until, local_date(instant, tz))
    dirty = session.execute(sa.select(sa.func.min(OPS_ROLLUP_DIRTY.c.at))).scalar()
    if dirty is not None:
        until = min(until, local_date(dirty - DEFAULT_REPEAT_WINDOW, tz))
    answered = session.execute(
        sa.select(sa.func.min(ITX.c.occurred_at)).select_from(
            R.join(ITX, ITX.c.id == R.c.interaction_id)).where(R.c.id > state.response_id)
    ).scalar()
    if answered is not None:
        until = min(until, local_date(answered, tz))
    return OpsView(until, state.settled_through or state.rolled_through)


def repeated_by_new(d: str, after_id: int, *cols: Any) -> Any:
    """SELECT `cols` (over the alias `earlier`) of the contacts that a contact above `after_id`
    repeats: same customer and reason, at most one window before it. Those are the only
    contacts whose inferred FCR a new contact changes (its own day aside), so only their days
    need reading live or recomputing — not the whole window before every new contact."""
    new, earlier = ITX.alias("new_contact"), ITX.alias("earlier")
    cols = tuple(c(earlier) if callable(c) else c for c in cols)
    return (sa.select(*cols).select_from(new.join(earlier, sa.and_(
        earlier.c.customer_id == new.c.customer_id,
        earlier.c.contact_reason == new.c.contact_reason,
        earlier.c.occurred_at <= new.c.occurred_at,
        _within(d, new.c.occurred_at, earlier.c.occurred_at, DEFAULT_REPEAT_WINDOW))))
        .where(new.c.id > after_id, new.c.contact_reason.is_not(None)))


def _dim_where(f: Filters, t: sa.Table) -> list[Any]:
    return [t.c[k] == v for k, v in f.dims().items() if k != "kind"]


def _ints(values: Sequence[Any]) -> list[int]:
    # PostgreSQL sums BIGINT columns to NUMERIC; the live path's sums are plain ints.
    return [int(v or 0) for v in values]


def _parts(f: Filters, view: OpsView | None, needs: set[str],
           grains: Sequence[tuple[sa.Table, tuple[str, ...]]] = GRAINS
           ) -> tuple[sa.Table | None, Filters | None]:
    """The rollup table to read for the settled part of `f` (None: no usable rollup) and the
    filters of the part to read live (None: nothing live). The first grain whose dimensions
    hold every filter and grouping wins."""
    needs = needs | {k for k in f.dims() if k != "kind"}
    table = next((t for t, dims in grains if needs <= set(dims)), None)
    if view is None or view.until is None or table is None or view.until <= f.start_day:
        return None, f
    if view.until > f.end_day:
        return table, None
    return table, replace(f, start_day=view.until)


def _rollup_stmt(t: sa.Table, f: Filters, live: Filters | None, keys: Sequence[Any],
                 measures: Sequence[str]) -> Any:
    """SUMs of `measures` per `keys` over the rolled-up days of `f` (those before `live`):
    month rows for the whole calendar months among them, day rows for the rest (and for a
    grouping by day)."""
    end = live.start_day if live is not None else f.end_day + timedelta(days=1)
    first = f.start_day if f.start_day.day == 1 else _next_month(f.start_day)
    last = end.replace(day=1)  # whole months are [first, last)
    days = sa.and_(t.c.span == DAY, t.c.day >= f.start_day, t.c.day < end)
    if first < last and not any(getattr(k, "name", None) == "day" for k in keys):
        days = sa.or_(sa.and_(t.c.span == DAY, t.c.day >= f.start_day, t.c.day < first),
                      sa.and_(t.c.span == MONTH, t.c.day >= first, t.c.day < last),
                      sa.and_(t.c.span == DAY, t.c.day >= last, t.c.day < end))
    stmt = sa.select(*keys, *(sa.func.sum(t.c[m]) for m in measures)).where(
        days, *_dim_where(f, t))
    return stmt.group_by(*keys) if keys else stmt


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


# --- readers -----------------------------------------------------------------------------------


def queue_stmt(keys: Sequence[Any], where: Sequence[Any]) -> Any:
    stmt = sa.select(*keys, *queue_measures()).where(*where)
    return stmt.group_by(*keys) if keys else stmt


def _live_queue_counts(session: Session, f: Filters, by: str | None) -> dict[Any, QueueCounts]:
    keys = [ITX.c[by]] if by else []
    out = {}
    for row in session.execute(queue_stmt(keys, contact_where(f))):
        key = row[0] if by else None
        out[key] = QueueCounts.from_row(row[1:] if by else row)
    return out


def queue_counts(session: Session, f: Filters, by: str | None = None,
                 view: OpsView | None = None) -> dict[Any, QueueCounts]:
    """QueueCounts overall (key None) or per value of `by` (a column of interaction): settled
    days from the rollups when `view` allows, the rest live."""
    t, live = _parts(f, view, {by} if by else set())
    out: dict[Any, QueueCounts] = {}
    if t is not None:
        keys = [t.c[by]] if by else []
        for row in session.execute(_rollup_stmt(t, f, live, keys, QUEUE_MEASURES)):
            key = row[0] if by else None
            out.setdefault(key, QueueCounts()).add(QueueCounts.from_row(_ints(row[len(keys):])))
    if live is not None:
        for key, counts in _live_queue_counts(session, live, by).items():
            out.setdefault(key, QueueCounts()).add(counts)
    return out


def grouped(session: Session, f: Filters, names: Sequence[str], *, window: timedelta,
            now: datetime, view: OpsView | None = None
            ) -> dict[str, tuple[dict[Any, QueueCounts], dict[Any, dict[str, int]]]]:
    """`queue_counts` and `fcr_views` per value of each of `names` (the breakdown and the
    agent), all counted together — grouped by every name at once, then added up per name —
    so a report reads one rollup table once and scans its live week once (not once per name
    and measure). Rollups hold the default repeat window only; another reads live rows."""
    names = list(dict.fromkeys(names))
    usable = view if window == DEFAULT_REPEAT_WINDOW else None
    if usable is not None and usable.until is not None and usable.settled is not None and (
            local_midnight(usable.settled, f.tz) > now - window):
        # Rows settled by a run "later" than `now` (a clock set back): trust only the days
        # settled at `now`, the rest live.
        usable = replace(usable, until=min(usable.until, local_date(now - window, f.tz)))
    t, live = _parts(f, usable, set(names))
    if t is None and usable is not None and usable.until is not None and len(names) > 1:
        # No one rollup holds them together (team x channel x queue x reason, or team x
        # agent): each name from the rollup that holds it.
        return {n: grouped(session, f, [n], window=window, now=now, view=view)[n]
                for n in names}
    width, nq = len(names), len(QUEUE_MEASURES)
    rows: list[tuple[tuple[Any, ...], QueueCounts | None, Sequence[Any] | None]] = []
    if t is not None:
        stmt = _rollup_stmt(t, f, live, [t.c[n] for n in names], QUEUE_MEASURES + FCR_MEASURES)
        for row in session.execute(stmt):
            values = _ints(row[width:])
            rows.append((tuple(row[:width]), QueueCounts.from_row(values[:nq]), values[nq:]))
        # Provisional days count no contact as resolved by inference: add those whose window
        # has closed by `now` (from the first provisional day to now - window: the day or so
        # since the last settled day, an index probe each for a repeat).
        lo = max(f.start, local_midnight(usable.settled, f.tz))  # type: ignore[union-attr,arg-type]
        hi = live.start if live is not None else f.end
        if lo < hi and lo <= now - window:
            stmt = closing_stmt(dialect(session), [ITX.c[n] for n in names],
                                contact_where(f)[2:], lo, hi, closed_at=now - window,
                                window=window)
            for row in session.execute(stmt):
                rows.append((tuple(row[:width]), None, row[width:]))
    if live is not None:
        keys = [ITX.c[n] for n in names]
        for row in session.execute(queue_stmt(keys, contact_where(live))):
            rows.append((tuple(row[:width]), QueueCounts.from_row(row[width:]), None))
        stmt = fcr_stmt(dialect(session), keys, contact_where(live)[2:], live.start, live.end,
                        window=window, now=now)
        for row in session.execute(stmt):
            rows.append((tuple(row[:width]), None, row[width:]))
    out: dict[str, tuple[dict[Any, QueueCounts], dict[Any, dict[str, int]]]] = {
        n: ({}, {}) for n in names}
    for key, counts, fcr in rows:
        for i, n in enumerate(names):
            if counts is not None:
                out[n][0].setdefault(key[i], QueueCounts()).add(counts)
            if fcr is not None:
                _add_fcr(out[n][1], key[i], fcr)
    return out


def _add_fcr(out: dict[Any, dict[str, int]], key: Any, values: Sequence[Any]) -> None:
    acc = out.setdefault(key, dict.fromkeys(FCR_MEASURES, 0))
    for n, v in zip(FCR_MEASURES, values, strict=True):
        acc[n] += int(v or 0)


def daily_queue_counts(session: Session, f: Filters, view: OpsView | None = None
                       ) -> dict[Any, QueueCounts]:
    """QueueCounts per local day, each daylight-saving range with its own UTC offset."""
    d = dialect(session)
    out: dict[Any, QueueCounts] = {}
    t, live = _parts(f, view, set())
    if t is not None:
        for row in session.execute(_rollup_stmt(t, f, live, [t.c.day], QUEUE_MEASURES)):
            out.setdefault(row[0], QueueCounts()).add(QueueCounts.from_row(_ints(row[1:])))
    if live is None:
        return out
    dims = contact_where(live)[2:]
    for lo, hi, offset in offset_segments(live.start_day, live.end_day + timedelta(days=1),
                                          live.tz):
        day = local_day(d, ITX.c.occurred_at, offset)
        stmt = queue_stmt([day], [ITX.c.occurred_at >= lo, ITX.c.occurred_at < hi, *dims])
        for row in session.execute(stmt):
            out.setdefault(row[0], QueueCounts()).add(QueueCounts.from_row(row[1:]))
    return out


def _within(d: str, later: Any, earlier: Any, window: timedelta) -> Any:
    if d == "postgresql":
        return later < sa.type_coerce(earlier, sa.DateTime(timezone=True)) + sa.literal(
            window, sa.Interval())
    # SQLite keeps timestamps as text; julianday() reads them (microseconds included).
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0 < (
        window.total_seconds())


def fcr_stmt(d: str, keys: Sequence[Any], where: Sequence[Any], lo: datetime, hi: datetime,
             *, window: timedelta, now: datetime, closed_before: datetime | None = None) -> Any:
    """The FCR views (`FCR_MEASURES`) of the contacts in [lo, hi) matching `where`, per `keys`.

    inferred: the next contact of the same customer on the same reason (LEAD over [lo, hi)
    plus one window, every team: a repeat may reach another team) decides; a contact whose
    window is still open at `now` is not counted yet (the rollups pass `closed_before`
    instead: a contact before it is closed, none after). customer: the survey's "was your
    issue resolved?" answer (the first survey of the contact, not a recovery follow-up)."""
    # Ties in time are broken by id, as `_repeat_exists` does.
    nxt = (sa.select(ITX.c.id.label("id"), sa.func.lead(ITX.c.occurred_at).over(
        partition_by=[ITX.c.customer_id, ITX.c.contact_reason],
        order_by=[ITX.c.occurred_at, ITX.c.id]).label("next_at"))
        .where(ITX.c.occurred_at >= lo, ITX.c.occurred_at < hi + window,
               ITX.c.contact_reason.is_not(None))
        .cte("next_contact"))
    repeat = sa.and_(nxt.c.next_at.is_not(None), _within(d, nxt.c.next_at, ITX.c.occurred_at,
                                                         window))
    closed = (ITX.c.occurred_at <= now - window if closed_before is None
              else ITX.c.occurred_at < closed_before)
    inferred = sa.case((ITX.c.contact_reason.is_(None), None), (repeat, 0), (closed, 1),
                       else_=None)
    agent = sa.case((ITX.c.resolved.is_(None), None), (ITX.c.resolved == sa.true(), 1), else_=0)
    customer = CUSTOMER_SAID

    def both(a: Any, b: Any, va: int, vb: int) -> Any:
        return _count(sa.and_(a == va, b == vb))

    stmt = (sa.select(*keys,
                      _count(agent.is_not(None)), _count(agent == 1),
                      _count(customer.is_not(None)), _count(customer == 1),
                      _count(inferred.is_not(None)), _count(inferred == 1),
                      both(agent, customer, 1, 0), both(agent, customer, 0, 1),
                      _count(sa.and_(agent.is_not(None), customer.is_not(None))),
                      both(agent, inferred, 1, 0), both(agent, inferred, 0, 1),
                      _count(sa.and_(agent.is_not(None), inferred.is_not(None))))
            .select_from(with_answer(ITX.outerjoin(nxt, nxt.c.id == ITX.c.id).outerjoin(
                R, sa.and_(R.c.interaction_id == ITX.c.id, R.c.purpose == "survey",
                           answers_of(lo, hi)))))
            .where(ITX.c.occurred_at >= lo, ITX.c.occurred_at < hi, *where))
    return stmt.group_by(*keys) if keys else stmt


def _repeat_exists(d: str, window: timedelta) -> Any:
    """EXISTS a later contact of the same customer on the same reason within `window` (what
    LEAD finds in `fcr_stmt`, as an index probe on customer, reason and time per contact)."""
    later = ITX.alias("later_contact")
    after = sa.or_(later.c.occurred_at > ITX.c.occurred_at,
                   sa.and_(later.c.occurred_at == ITX.c.occurred_at, later.c.id > ITX.c.id))
    return sa.exists().where(later.c.customer_id == ITX.c.customer_id,
                             later.c.contact_reason == ITX.c.contact_reason, after,
                             _within(d, later.c.occurred_at, ITX.c.occurred_at, window))


def closing_stmt(d: str, keys: Sequence[Any], where: Sequence[Any], lo: datetime, hi: datetime,
                 *, closed_at: datetime, window: timedelta) -> Any:
    """`FCR_MEASURES` per `keys` of the contacts in [lo, hi), up to `closed_at` (inclusive),
    whose window has closed without a repeat: what a provisional rollup day leaves out. Only
    the inferred measures are non-zero (the rest the rollup row has)."""
    yes = sa.and_(ITX.c.contact_reason.is_not(None), sa.not_(_repeat_exists(d, window)))
    agent_no = ITX.c.resolved == sa.false()
    zero = sa.literal(0)
    stmt = (sa.select(*keys, zero, zero, zero, zero, _count(yes), _count(yes), zero, zero, zero,
                      zero, _count(sa.and_(yes, agent_no)),
                      _count(sa.and_(yes, ITX.c.resolved.is_not(None))))
            .where(ITX.c.occurred_at >= lo, ITX.c.occurred_at < hi,
                   ITX.c.occurred_at <= closed_at, *where))
    return stmt.group_by(*keys) if keys else stmt


def fcr_views(session: Session, f: Filters, *, window: timedelta, now: datetime,
              by: str | None = None) -> dict[Any, dict[str, int]]:
    """The three FCR views per group from live rows (see `fcr_stmt`), plus where they
    disagree; the report reads them through `grouped`."""
    out: dict[Any, dict[str, int]] = {}
    keys = [ITX.c[by]] if by else []
    stmt = fcr_stmt(dialect(session), keys, contact_where(f)[2:], f.start, f.end,
                    window=window, now=now)
    for row in session.execute(stmt):
        _add_fcr(out, row[0] if by else None, row[len(keys):])
    return out


def satisfaction_by(session: Session, f: Filters, *groups: Any) -> list[Row]:
    """(group values…, kind, n, pos, neg, sum, sumsq) for survey answers about the period's
    contacts, grouped by expressions over interaction and response (live rows)."""
    stmt = (sa.select(*groups, R.c.kind, *satisfaction_measures())
            .select_from(with_answer(R.join(ITX, ITX.c.id == R.c.interaction_id)))
            .where(*contact_where(f), R.c.purpose == "survey", answers_of(f.start, f.end),
                   *([R.c.kind == f.kind] if f.kind else []))
            .group_by(*groups, R.c.kind))
    return [tuple(r) for r in session.execute(stmt)]


SATISFACTION_GROUPS = ("aht", "wait", "transfers", "fcr_agent", "fcr_customer", "agent")


def satisfaction_group(name: str) -> Any:
    return ITX.c.agent if name == "agent" else levers()[name]


def satisfaction_rows(session: Session, f: Filters, view: OpsView | None = None
                      ) -> dict[str, list[Row]]:
    """`satisfaction_by` for every lever and the agent (`SATISFACTION_GROUPS`), keyed by name:
    settled days in one read of the satisfaction rollup, the rest live."""
    t, live = _parts(f, view, set(), grains=((OPS_SATISFACTION_DAILY, ("team",)),))
    rows: dict[str, list[Row]] = {name: [] for name in SATISFACTION_GROUPS}
    if t is not None:
        stmt = _rollup_stmt(t, f, live, [t.c.dimension, t.c.value, t.c.kind],
                            SATISFACTION_MEASURES).where(*([t.c.kind == f.kind] if f.kind else []))
        for name, value, kind, *m in session.execute(stmt):
            if name in rows:
                rows[name].append((value, kind, *_ints(m)))
    if live is not None and t is not None:
        # The live tail is a week: one scan grouped by every lever and the agent at once,
        # added up per name here, instead of one scan per name.
        groups = [satisfaction_group(n) for n in SATISFACTION_GROUPS]
        acc: dict[tuple[str, Any, str], list[int]] = {}
        for row in satisfaction_by(session, live, *groups):
            *values, kind = row[:len(groups) + 1]
            for name, value in zip(SATISFACTION_GROUPS, values, strict=True):
                sums = acc.setdefault((name, value, kind), [0] * len(SATISFACTION_MEASURES))
                for i, m in enumerate(row[len(groups) + 1:]):
                    sums[i] += int(m or 0)
        for (name, value, kind), sums in acc.items():
            rows[name].append((value, kind, *sums))
    elif live is not None:
        for name in SATISFACTION_GROUPS:
            rows[name] += satisfaction_by(session, live, satisfaction_group(name))
    return rows


def recovery_outcomes(session: Session, f: Filters, by: str) -> dict[Any, dict[str, int]]:
    """Recovery tasks opened by answers about the period's contacts, per `by`: how many, how
    many recovered."""
    T = RecoveryTask.__table__  # type: ignore[attr-defined]
    stmt = (sa.select(ITX.c[by], sa.func.count(), _count(T.c.outcome == "recovered"),
                      _count(T.c.outcome == "not_recovered"))
            .select_from(T.join(ITX, ITX.c.id == T.c.interaction_id))
            .where(*contact_where(f)).group_by(ITX.c[by]))
    return {k: {"tasks": int(n), "recovered": int(rec or 0), "not_recovered": int(nrec or 0)}
            for k, n, rec, nrec in session.execute(stmt)}


# The operational levers whose effect on satisfaction the report tests, as band labels.
LEVERS: dict[str, Any] = {}


def levers() -> dict[str, Any]:
    from feedback.operations.models import AHT_BANDS, TRANSFER_BANDS, WAIT_BANDS

    if not LEVERS:
        yes_no = {True: "yes", False: "no"}
        LEVERS.update({
            "aht": band(sa.case((_with_handle, HANDLE), else_=None), AHT_BANDS),
            "wait": band(sa.case((_with_wait, ITX.c.wait_seconds), else_=None), WAIT_BANDS),
            "transfers": band(ITX.c.transfers, TRANSFER_BANDS),
            "fcr_agent": sa.case((ITX.c.resolved.is_(None), None),
                                 (ITX.c.resolved == sa.true(), yes_no[True]), else_=yes_no[False]),
            "fcr_customer": sa.case((CUSTOMER_SAID == 1, "yes"), (CUSTOMER_SAID == 0, "no"),
                                    else_=None),
        })
    return LEVERS
