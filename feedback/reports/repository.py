"""SQL of the reports: read rollups for settled days and live rows for the rest.

Every reader returns plain tuples `(group values…, measures…)` that the caller sums in Python,
from two sources glued at a boundary day (see `RollupView`):

    days before the boundary  → report_* rollup tables (a few thousand rows a year)
    the boundary day onwards  → the raw `response` / `invitation` rows (normally just today)

`use_rollups=False` reads everything live: the reference the rollup path is tested against.
Local days and hours are computed as `utc + offset` per constant-offset range
(`figures.offset_segments`), identically on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from feedback.reports.figures import Filters, local_date, local_midnight, offset_segments
from feedback.reports.models import (
    ReportAgentDaily,
    ReportHourly,
    ReportInvitationDaily,
    ReportResponseDaily,
    ReportRollupState,
)
from surveys.models import Interaction, Invitation, Response, SurveyDefinition
from surveys.scoring import NEGATIVE, POSITIVE

R = Response.__table__  # type: ignore[attr-defined]
INV = Invitation.__table__  # type: ignore[attr-defined]
ITX = Interaction.__table__  # type: ignore[attr-defined]
SD = SurveyDefinition.__table__  # type: ignore[attr-defined]
COARSE = ReportResponseDaily.__table__  # type: ignore[attr-defined]
FINE = ReportAgentDaily.__table__  # type: ignore[attr-defined]
HOURLY = ReportHourly.__table__  # type: ignore[attr-defined]
INV_DAILY = ReportInvitationDaily.__table__  # type: ignore[attr-defined]
ROLLUPS = (COARSE, FINE, HOURLY, INV_DAILY)

POS = sorted(c.value for c in POSITIVE)
NEG = sorted(c.value for c in NEGATIVE)
Row = tuple[Any, ...]


# --- local time as SQL -------------------------------------------------------------------------


def _shifted_pg(col: Any, offset: int) -> Any:
    return sa.func.timezone("UTC", col) + sa.literal(timedelta(seconds=offset), sa.Interval())


def local_day(dialect: str, col: Any, offset: int) -> Any:
    if dialect == "postgresql":
        return sa.cast(_shifted_pg(col, offset), sa.Date)
    return sa.type_coerce(sa.func.date(col, f"{offset:+d} seconds"), sa.Date())


def local_hour(dialect: str, col: Any, offset: int) -> Any:
    if dialect == "postgresql":
        return sa.cast(sa.extract("hour", _shifted_pg(col, offset)), sa.Integer)
    return sa.cast(sa.func.strftime("%H", col, f"{offset:+d} seconds"), sa.Integer)


def local_weekday(dialect: str, col: Any, offset: int) -> Any:
    """ISO weekday: 1 = Monday … 7 = Sunday."""
    if dialect == "postgresql":
        return sa.cast(sa.extract("isodow", _shifted_pg(col, offset)), sa.Integer)
    sunday0 = sa.cast(sa.func.strftime("%w", col, f"{offset:+d} seconds"), sa.Integer)
    return (sunday0 + 6) % 7 + 1


def _utc_day(dialect: str, col: Any) -> Any:
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("UTC", col), sa.Date)
    return sa.type_coerce(sa.func.date(col), sa.Date())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --- measures ----------------------------------------------------------------------------------


def _response_measures() -> list[Any]:
    """n, positive, negative, sum, sum of squares of raw responses."""
    pos = sa.func.sum(sa.case((R.c.classification.in_(POS), 1), else_=0))
    neg = sa.func.sum(sa.case((R.c.classification.in_(NEG), 1), else_=0))
    return [sa.func.count(), pos, neg, sa.func.sum(R.c.score), sa.func.sum(R.c.score * R.c.score)]


def _rollup_measures(t: sa.Table) -> list[Any]:
    return [sa.func.sum(t.c.n), sa.func.sum(t.c.positive), sa.func.sum(t.c.negative),
            sa.func.sum(t.c.score_sum), sa.func.sum(t.c.score_sumsq)]


def _merge(into: dict[Row, list[float]], rows: Iterable[Row], width: int) -> None:
    for row in rows:
        key, values = tuple(row[:width]), row[width:]
        acc = into.setdefault(key, [0] * len(values))
        for i, v in enumerate(values):
            acc[i] += v or 0


# --- which days come from rollups --------------------------------------------------------------


@dataclass(frozen=True)
class RollupView:
    """Days before `responses_until` are read from the response rollups, days before
    `invitations_until` from the invitation rollup; None means "no usable rollups"."""

    responses_until: date | None = None
    invitations_until: date | None = None

    @classmethod
    def live(cls) -> RollupView:
        return cls()


def rollup_view(session: Session, tz: ZoneInfo) -> RollupView:
    """Where the rollups can be trusted, checked against rows they have not seen yet.

    A response or invitation inserted after the last rollup run but dated earlier (an import of
    last month's data) moves the boundary back to its day, so the reader never serves a stale
    figure; the next run recomputes that day and the boundary moves forward again.
    """
    state = session.get(ReportRollupState, 1)
    if state is None or state.rolled_through is None or state.time_zone != tz.key:
        return RollupView()
    until = state.rolled_through
    late_response = session.execute(
        sa.select(sa.func.min(R.c.submitted_at)).where(R.c.id > state.response_id)).scalar()
    resp_until = min(until, local_date(late_response, tz)) if late_response else until
    late_invitation = session.execute(
        sa.select(sa.func.min(INV.c.sent_at)).where(INV.c.id > state.invitation_id)).scalar()
    # An answer arriving today changes the response rate of the day its invitation was sent.
    answered = session.execute(
        sa.select(sa.func.min(INV.c.sent_at)).select_from(R.join(INV, INV.c.id == R.c.invitation_id))
        .where(R.c.id > state.response_id)).scalar()
    inv_until = until
    for instant in (late_invitation, answered):
        if instant is not None:
            inv_until = min(inv_until, local_date(instant, tz))
    return RollupView(resp_until, inv_until)


def _split(f: Filters, until: date | None) -> date:
    """First local day of `f` that must be read live."""
    if until is None:
        return f.start_day
    return max(f.start_day, min(until, f.end_day + timedelta(days=1)))


# --- responses ---------------------------------------------------------------------------------

RESPONSE_GROUPS = ("day", "kind", "team", "agent", "channel", "queue")


def response_rows(session: Session, f: Filters, group: Sequence[str],
                  view: RollupView) -> list[Row]:
    """Rows (*group, kind, n, positive, negative, sum, sumsq) for the period and filters."""
    for g in group:
        if g not in RESPONSE_GROUPS:
            raise ValueError(f"cannot group responses by {g!r}")
    keys = [g for g in group if g != "kind"] + ["kind"]
    split = _split(f, view.responses_until)
    acc: dict[Row, list[float]] = {}
    if split > f.start_day:
        needs = set(keys) | set(f.dims())
        t = FINE if "agent" in needs else COARSE
        stmt = (sa.select(*[t.c[k] for k in keys], *_rollup_measures(t))
                .where(t.c.day >= f.start_day, t.c.day < split, *f.where(t.c))
                .group_by(*[t.c[k] for k in keys]))
        _merge(acc, session.execute(stmt), len(keys))
    end = f.end_day + timedelta(days=1)
    if split < end:
        dialect = _dialect(session)
        if "day" in keys:
            ranges = offset_segments(split, end, f.tz)
        else:
            ranges = [(local_midnight(split, f.tz), f.end, 0)]
        for lo, hi, offset in ranges:
            cols = [local_day(dialect, R.c.submitted_at, offset) if k == "day" else R.c[k]
                    for k in keys]
            stmt = (sa.select(*cols, *_response_measures())
                    .where(R.c.submitted_at >= lo, R.c.submitted_at < hi, *f.where(R.c))
                    .group_by(*cols))
            _merge(acc, session.execute(stmt), len(keys))
    return [(*k, *v) for k, v in acc.items()]


def hourly_rows(session: Session, f: Filters, view: RollupView) -> list[Row]:
    """Rows (weekday, hour, n, negative): the weekday x hour heatmap, by the local time of the
    answered interaction, for answers submitted in the period."""
    # The hourly rollup keeps kind, team and channel; an agent or queue filter reads live rows.
    usable = not ({"agent", "queue"} & set(f.dims()))
    split = _split(f, view.responses_until if usable else None)
    acc: dict[Row, list[float]] = {}
    if split > f.start_day:
        t = HOURLY
        stmt = (sa.select(t.c.weekday, t.c.hour, sa.func.sum(t.c.n), sa.func.sum(t.c.negative))
                .where(t.c.day >= f.start_day, t.c.day < split, *f.where(t.c))
                .group_by(t.c.weekday, t.c.hour))
        _merge(acc, session.execute(stmt), 2)
    end = f.end_day + timedelta(days=1)
    dialect = _dialect(session)
    neg = sa.func.sum(sa.case((R.c.classification.in_(NEG), 1), else_=0))
    for lo, hi, _ in offset_segments(split, end, f.tz):
        wd, hr = interaction_weekday_hour(dialect, f.tz, lo, hi)
        stmt = (sa.select(wd, hr, sa.func.count(), neg).select_from(_WITH_INTERACTION)
                .where(R.c.submitted_at >= lo, R.c.submitted_at < hi, *f.where(R.c))
                .group_by(wd, hr))
        _merge(acc, session.execute(stmt), 2)
    return [(*k, *v) for k, v in acc.items()]


# The heatmap asks when service went wrong, not when the customer got round to answering: its
# weekday and hour are the interaction's (the answer's own time when it has no interaction).
_WITH_INTERACTION = R.outerjoin(ITX, ITX.c.id == R.c.interaction_id)
_INTERACTION_AT = sa.func.coalesce(ITX.c.occurred_at, R.c.submitted_at)
# Interactions are surveyed within days; one older than this before its answer's range gets
# the range's first UTC offset (its hour may then be off by the DST shift, nothing worse).
_INTERACTION_LOOKBACK = timedelta(days=62)


def interaction_weekday_hour(dialect: str, tz: ZoneInfo, lo: datetime,
                             hi: datetime) -> tuple[Any, Any]:
    """Local ISO weekday and hour of the interaction of answers submitted in [lo, hi): the
    interaction may lie on the other side of a DST change, so its offset is chosen per
    constant-offset range of its own time (a CASE over a handful of ranges)."""
    segments = offset_segments(local_date(lo - _INTERACTION_LOOKBACK, tz),
                               local_date(hi, tz) + timedelta(days=1), tz)
    col = _INTERACTION_AT

    def by_offset(part: Any) -> Any:
        if len(segments) == 1:
            return part(dialect, col, segments[0][2])
        whens = [(col < seg_hi, part(dialect, col, offset)) for _, seg_hi, offset in segments[:-1]]
        return sa.case(*whens, else_=part(dialect, col, segments[-1][2]))

    return by_offset(local_weekday), by_offset(local_hour)


# --- invitations (response rate) ---------------------------------------------------------------

INVITATION_GROUPS = ("day", "kind", "team", "agent", "channel", "queue")


def _invitation_columns(dialect: str, offset: int) -> dict[str, Any]:
    return {"day": local_day(dialect, INV.c.sent_at, offset), "kind": SD.c.kind,
            "team": ITX.c.team, "agent": ITX.c.agent, "channel": ITX.c.channel,
            "queue": ITX.c.queue}


def invitation_rows(session: Session, f: Filters, group: Sequence[str],
                    view: RollupView) -> list[Row]:
    """Rows (*group, sent, answered): invitations sent in the period and how many were answered.

    The invitation's dimensions are its interaction's (team, agent, channel, queue) and its
    survey's kind, the same values a response copies, so the rate's filters match the KPIs'.
    """
    for g in group:
        if g not in INVITATION_GROUPS:
            raise ValueError(f"cannot group invitations by {g!r}")
    keys = list(group)
    usable = "agent" not in (set(keys) | set(f.dims()))
    split = _split(f, view.invitations_until if usable else None)
    acc: dict[Row, list[float]] = {}
    if split > f.start_day:
        t = INV_DAILY
        stmt = (sa.select(*[t.c[k] for k in keys], sa.func.sum(t.c.sent), sa.func.sum(t.c.answered))
                .where(t.c.day >= f.start_day, t.c.day < split, *f.where(t.c)))
        if keys:
            stmt = stmt.group_by(*[t.c[k] for k in keys])
        _merge(acc, session.execute(stmt), len(keys))
    end = f.end_day + timedelta(days=1)
    dialect = _dialect(session)
    if "day" in keys:
        ranges = offset_segments(split, end, f.tz)
    else:
        ranges = [(local_midnight(split, f.tz), f.end, 0)] if split < end else []
    joined = INV.join(SD, SD.c.id == INV.c.survey_id).outerjoin(ITX, ITX.c.id == INV.c.interaction_id)
    for lo, hi, offset in ranges:
        cols = _invitation_columns(dialect, offset)
        wanted = [cols[k] for k in keys]
        where = [cols[k] == v for k, v in f.dims().items()]
        stmt = (sa.select(*wanted, sa.func.count(), sa.func.count(INV.c.answered_at))
                .select_from(joined).where(INV.c.sent_at >= lo, INV.c.sent_at < hi, *where))
        if wanted:
            stmt = stmt.group_by(*wanted)
        _merge(acc, session.execute(stmt), len(keys))
    return [(*k, *v) for k, v in acc.items()]


# --- recomputing rollups -----------------------------------------------------------------------


def recompute_days(session: Session, first: date, last: date, tz: ZoneInfo) -> None:
    """Recompute every rollup for local days first..last (inclusive): delete, then re-insert
    from the raw rows. Idempotent; the caller's transaction makes it atomic."""
    for t in ROLLUPS:
        session.execute(sa.delete(t).where(t.c.day >= first, t.c.day <= last))
    dialect = _dialect(session)
    for lo, hi, offset in offset_segments(first, last + timedelta(days=1), tz):
        _insert_responses(session, dialect, lo, hi, offset, tz)
        _insert_invitations(session, dialect, lo, hi, offset)


def _insert_responses(session: Session, dialect: str, lo: datetime, hi: datetime,
                      offset: int, tz: ZoneInfo | None = None) -> None:
    day = local_day(dialect, R.c.submitted_at, offset)
    in_range = [R.c.submitted_at >= lo, R.c.submitted_at < hi]
    n, pos, neg, total, sumsq = _response_measures()
    measures = [n, pos, n - pos - neg, neg, total, sumsq]
    names = ["n", "positive", "passive", "negative", "score_sum", "score_sumsq"]
    for t, dims in ((COARSE, ["kind", "team", "channel", "queue"]),
                    (FINE, ["kind", "team", "agent", "channel", "queue"])):
        cols = [day, *[R.c[d] for d in dims]]
        select = sa.select(*cols, *measures).where(*in_range).group_by(*cols)
        session.execute(sa.insert(t).from_select(["day", *dims, *names], select))
    wd, hr = interaction_weekday_hour(dialect, ZoneInfo("UTC") if tz is None else tz, lo, hi)
    cols = [day, wd, hr, R.c.kind, R.c.team, R.c.channel]
    select = (sa.select(*cols, n, neg).select_from(_WITH_INTERACTION).where(*in_range)
              .group_by(*cols))
    session.execute(sa.insert(HOURLY).from_select(
        ["day", "weekday", "hour", "kind", "team", "channel", "n", "negative"], select))


def _insert_invitations(session: Session, dialect: str, lo: datetime, hi: datetime,
                        offset: int) -> None:
    cols = _invitation_columns(dialect, offset)
    dims = ["day", "kind", "team", "channel", "queue"]
    wanted = [cols[d] for d in dims]
    joined = INV.join(SD, SD.c.id == INV.c.survey_id).outerjoin(ITX, ITX.c.id == INV.c.interaction_id)
    select = (sa.select(*wanted, sa.func.count(), sa.func.count(INV.c.answered_at))
              .select_from(joined).where(INV.c.sent_at >= lo, INV.c.sent_at < hi)
              .group_by(*wanted))
    session.execute(sa.insert(INV_DAILY).from_select([*dims, "sent", "answered"], select))


def touched_days(session: Session, tz: ZoneInfo, response_after: int,
                 invitation_after: int) -> set[date]:
    """Local days whose figures rows with ids above the given ones can have changed: the day a
    response was submitted, the day its invitation was sent, the day a new invitation was sent.

    SQL returns UTC days (no offset needed); each maps to the one or two local days it overlaps.
    """
    dialect = _dialect(session)
    utc_days: set[date] = set()
    queries = [
        sa.select(_utc_day(dialect, R.c.submitted_at)).where(R.c.id > response_after),
        sa.select(_utc_day(dialect, INV.c.sent_at)).select_from(
            R.join(INV, INV.c.id == R.c.invitation_id)).where(R.c.id > response_after),
        sa.select(_utc_day(dialect, INV.c.sent_at)).where(
            INV.c.id > invitation_after, INV.c.sent_at.is_not(None)),
    ]
    for q in queries:
        utc_days.update(d for (d,) in session.execute(q.distinct()) if d is not None)
    out: set[date] = set()
    for d in utc_days:
        start = datetime(d.year, d.month, d.day, tzinfo=ZoneInfo("UTC"))
        out.add(local_date(start, tz))
        out.add(local_date(start + timedelta(days=1) - timedelta(microseconds=1), tz))
    return out


def first_day(session: Session, tz: ZoneInfo) -> date | None:
    """The earliest local day with any response or sent invitation."""
    first_resp = session.execute(sa.select(sa.func.min(R.c.submitted_at))).scalar()
    first_inv = session.execute(sa.select(sa.func.min(INV.c.sent_at))).scalar()
    found = [local_date(x, tz) for x in (first_resp, first_inv) if x is not None]
    return min(found) if found else None


def max_ids(session: Session) -> tuple[int, int]:
    resp = session.execute(sa.select(sa.func.max(R.c.id))).scalar() or 0
    inv = session.execute(sa.select(sa.func.max(INV.c.id))).scalar() or 0
    return int(resp), int(inv)


def clear_rollups(session: Session) -> None:
    for t in ROLLUPS:
        session.execute(sa.delete(t))
