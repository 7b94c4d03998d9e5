
"""KPI queries: NPS, CSAT %, CES (mean and % easy), response rate — overall and grouped.

SQL does the counting (one GROUP BY over `response`, which carries its report dimensions);
the maths, including each figure's 95 % margin of error, lives in `surveys.kpis`, so the
dashboard, the CSV export and this API all compute figures the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import get
from litestar.params import QueryParameter
from sqlmodel import Session

from feedback.auth.guards import require
from feedback.deps import Db, Now
from surveys import kpis
from surveys.errors import ValidationFailed
from surveys.models import Invitation, Response
from surveys.scoring import NEGATIVE, POSITIVE, SurveyKind

GROUPS = ("day", "week", "month", "team", "agent", "channel", "queue", "kind")
_R = Response.__table__.c  # type: ignore[attr-defined]


@dataclass
class Filters:
    start: datetime
    end: datetime  # exclusive
    kind: str | None = None
    team: str | None = None
    channel: str | None = None
    agent: str | None = None
    queue: str | None = None

    def where(self) -> list[Any]:
        clauses = [_R.submitted_at >= self.start, _R.submitted_at < self.end]
        for name in ("kind", "team", "channel", "agent", "queue"):
            value = getattr(self, name)
            if value:
                clauses.append(_R[name] == value)
        return clauses

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start.date().isoformat(),
                "to": (self.end - timedelta(days=1)).date().isoformat(),
                "kind": self.kind, "team": self.team, "channel": self.channel,
                "agent": self.agent, "queue": self.queue}


def _parse_date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a date like 2026-01-31", field=name) from exc


def make_filters(now: Now, frm: str | None = None, to: str | None = None,
                 kind: str | None = None, **dims: str | None) -> Filters:
    """`from` and `to` are inclusive calendar dates (UTC); the default is the last 30 days."""
    end_d = _parse_date(to, "to") or now.date()
    start_d = _parse_date(frm, "from") or end_d - timedelta(days=29)
    if start_d > end_d:
        raise ValidationFailed("from must not be after to", field="from")
    if kind and kind not in {k.value for k in SurveyKind}:
        raise ValidationFailed("kind must be one of csat, nps, ces", field="kind")
    return Filters(datetime.combine(start_d, time(), UTC),
                   datetime.combine(end_d + timedelta(days=1), time(), UTC),
                   kind=kind or None, **{k: v or None for k, v in dims.items()})


def bucket(dialect: str, group_by: str) -> Any:
    col = _R.submitted_at
    if group_by in ("day", "week", "month"):
        if dialect == "postgresql":
            return sa.func.to_char(sa.func.date_trunc(group_by, sa.func.timezone("UTC", col)),
                                   "YYYY-MM-DD")
        if group_by == "day":
            return sa.func.strftime("%Y-%m-%d", col)
        if group_by == "week":  # ISO weeks start on Monday
            return sa.func.date(col, "-6 days", "weekday 1")
        return sa.func.strftime("%Y-%m-01", col)
    return sa.func.coalesce(_R[group_by], "(none)")


@dataclass
class Counts:
    n: int = 0
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, kind: str, n: int, pos: int, neg: int, total: float, sumsq: float) -> None:
        k = self.by_kind.setdefault(kind, {"n": 0, "pos": 0, "neg": 0, "sum": 0.0, "sumsq": 0.0})
        k["n"] += n
        k["pos"] += pos
        k["neg"] += neg
        k["sum"] += total
        k["sumsq"] += sumsq
        self.n += n

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"responses": self.n}
        nps = self.by_kind.get("nps")
        if nps:
            out["nps"] = kpis.nps(int(nps["pos"]), int(nps["n"] - nps["pos"] - nps["neg"]),
                                  int(nps["neg"])).to_dict()
            out["nps_counts"] = {"promoters": int(nps["pos"]), "detractors": int(nps["neg"]),
                                 "passives": int(nps["n"] - nps["pos"] - nps["neg"])}
        csat = self.by_kind.get("csat")
        if csat:
            out["csat"] = kpis.csat(int(csat["pos"]), int(csat["n"])).to_dict()
        ces = self.by_kind.get("ces")
        if ces:
            out["ces"] = kpis.ces(int(ces["n"]), ces["sum"], ces["sumsq"]).to_dict()
            out["ces_easy"] = kpis.ces_easy(int(ces["pos"]), int(ces["n"])).to_dict()
        negatives = sum(int(v["neg"]) for v in self.by_kind.values())
        out["negative_share"] = round(100.0 * negatives / self.n, 2) if self.n else None
        return out


def kpi_counts(session: Session, filters: Filters, group_by: str | None = None) -> tuple[Counts, dict[str, Counts]]:
    pos = sa.func.sum(sa.case((_R.classification.in_([c.value for c in POSITIVE]), 1), else_=0))
    neg = sa.func.sum(sa.case((_R.classification.in_([c.value for c in NEGATIVE]), 1), else_=0))
    cols = [_R.kind, sa.func.count(), pos, neg, sa.func.sum(_R.score),
            sa.func.sum(_R.score * _R.score)]
    dialect = session.get_bind().dialect.name
    key = bucket(dialect, group_by).label("g") if group_by else sa.literal("all").label("g")
    stmt = sa.select(key, *cols).where(*filters.where()).group_by(key, _R.kind).order_by(key)
    overall, groups = Counts(), {}
    for g, kind, n, p, ng, total, sumsq in session.execute(stmt):
        args = (kind, int(n), int(p or 0), int(ng or 0), float(total or 0), float(sumsq or 0))
        overall.add(*args)
        groups.setdefault(str(g), Counts()).add(*args)
    return overall, groups


def response_rate(session: Session, filters: Filters) -> dict[str, Any]:
    """Of the invitations sent in the period, how many were answered."""
    inv = Invitation.__table__.c  # type: ignore[attr-defined]
    stmt = sa.select(sa.func.count(), sa.func.count(inv.answered_at)).where(
        inv.sent_at >= filters.start, inv.sent_at < filters.end)
    sent, answered = session.execute(stmt).one()
    return {"sent": int(sent), "answered": int(answered),
            **kpis.response_rate(int(answered), int(sent)).to_dict()}


def kpi_report(session: Session, filters: Filters, group_by: str | None) -> dict[str, Any]:
    if group_by is not None and group_by not in GROUPS:
        raise ValidationFailed(f"group_by must be one of {', '.join(GROUPS)}", field="group_by")
    overall, groups = kpi_counts(session, filters, group_by)
    summary = overall.summary()
    summary["response_rate"] = response_rate(session, filters)
    return {
        "filters": filters.to_dict(),
        "group_by": group_by,
        "overall": summary,
        "groups": [{"key": k, **c.summary()} for k, c in groups.items()] if group_by else [],
    }


@get("/api/kpis", sync_to_thread=True, guards=[require("lead", "recovery")], tags=["reports"],
     summary="NPS, CSAT %, CES and response rate with 95 % margins of error")
def get_kpis(db: Db, now: Now,
             from_: Annotated[str | None, QueryParameter(name="from")] = None, to: str | None = None,
             kind: str | None = None, group_by: str | None = None, team: str | None = None,
             channel: str | None = None, agent: str | None = None, queue: str | None = None,
             ) -> dict[str, Any]:
    filters = make_filters(now, from_, to, kind, team=team, channel=channel, agent=agent, queue=queue)
    return kpi_report(db, filters, group_by)


routes = [get_kpis]
