"""Closed-loop metrics: are we reaching unhappy customers in time, and does it help?

The cohort is the tasks *opened* in the period (so a month's figures do not change meaning
as later tasks arrive). SQL fetches the few columns needed; medians and 90th percentiles use
`surveys.stats.percentile`, the same definition every report uses.

Public API for reports: `Period`, `parse_period(now, from, to)` and
`loop_metrics(session, period, group_by=None, settings=..., now=None)`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.auth.models import User
from feedback.configuration import policies
from feedback.recovery.models import DONE, Outcome, RecoveryTask, TaskStatus
from feedback.recovery.sla import Calendar
from feedback.reports.figures import make_filters
from surveys.errors import ValidationFailed
from surveys.scoring import NEGATIVE
from surveys.stats import percentile

GROUPS = ("month", "team", "owner", "root_cause", "priority", "kind")
_T = RecoveryTask.__table__  # type: ignore[attr-defined]
_U = User.__table__  # type: ignore[attr-defined]
_NEGATIVE = {c.value for c in NEGATIVE}


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive


def parse_period(now: datetime, frm: str | None = None, to: str | None = None) -> Period:
    """Inclusive calendar dates (UTC), like /api/kpis; the default is the last 30 days."""
    f = make_filters(now, frm, to)
    return Period(f.start, f.end)


def _hours(a: datetime | None, b: datetime | None, calendar: Calendar | None = None) -> float | None:
    """Hours from a to b: open (business) hours when the SLA runs on a calendar, so a task
    opened Friday evening and reached Monday at 09:30 took 0.5 h, as its deadline counted."""
    if a is None or b is None:
        return None
    span = calendar.open_time_between(a, b) if calendar is not None else b - a
    return span.total_seconds() / 3600.0


def _dist(values: list[float]) -> dict[str, Any]:
    values = sorted(values)
    med, p90 = percentile(values, 50), percentile(values, 90)
    return {"n": len(values), "median": None if med is None else round(med, 2),
            "p90": None if p90 is None else round(p90, 2)}


def _pct(k: int, n: int) -> float | None:
    return round(100.0 * k / n, 1) if n else None


def summarize(rows: list[dict[str, Any]], now: datetime,
              calendar: Calendar | None = None) -> dict[str, Any]:
    first, resolution, score_change = [], [], defaultdict(list)
    fc_due = fc_ok = res_due = res_ok = 0
    outcomes: dict[str, int] = defaultdict(int)
    followups = followup_answers = followup_not_negative = 0
    for r in rows:
        if r["first_contact_at"] is not None:
            first.append(_hours(r["opened_at"], r["first_contact_at"], calendar))
        # Decided cases only: contacted, or still not contacted after the deadline.
        if r["first_contact_at"] is not None or r["first_contact_due_at"] <= now:
            fc_due += 1
            fc_ok += r["first_contact_at"] is not None and r["first_contact_at"] <= r["first_contact_due_at"]
        finished = r["status"] in (TaskStatus.RESOLVED, TaskStatus.UNREACHABLE)
        if finished:
            resolution.append(_hours(r["opened_at"], r["resolved_at"], calendar))
        if finished or (r["status"] not in DONE and r["resolution_due_at"] <= now):
            res_due += 1
            res_ok += finished and r["resolved_at"] <= r["resolution_due_at"]
        if r["status"] == TaskStatus.CLOSED:
            outcomes["closed"] += 1
        elif r["outcome"]:
            outcomes[r["outcome"]] += 1
        followups += r["followup_invitation_id"] is not None
        if r["followup_score"] is not None:
            followup_answers += 1
            followup_not_negative += r["followup_classification"] not in _NEGATIVE
            score_change[r["kind"]].append(r["followup_score"] - r["score"])
    judged = sum(outcomes[o.value] for o in Outcome)
    return {
        "tasks": len(rows),
        "open": sum(r["status"] not in DONE for r in rows),
        "customers_reached": len({r["customer_id"] for r in rows if r["reached_at"] is not None}),
        "first_contact_hours": _dist([h for h in first if h is not None]),
        "resolution_hours": _dist([h for h in resolution if h is not None]),
        "first_contact_within_sla_pct": _pct(fc_ok, fc_due),
        "resolution_within_sla_pct": _pct(res_ok, res_due),
        "breaches": {"first_contact": sum(r["first_contact_breached_at"] is not None for r in rows),
                     "resolution": sum(r["resolution_breached_at"] is not None for r in rows)},
        "outcomes": {**{o.value: outcomes[o.value] for o in Outcome}, "closed": outcomes["closed"]},
        # Judged by the recovery team at resolution …
        "recovery_rate_pct": _pct(outcomes[Outcome.RECOVERED.value], judged),
        # … and measured by the customer's own follow-up answer.
        "followup": {
            "sent": followups, "answered": followup_answers,
            "recovered_pct": _pct(followup_not_negative, followup_answers),
            "score_change": {k: {"n": len(v), "mean": round(sum(v) / len(v), 2)}
                             for k, v in sorted(score_change.items())},
        },
    }


def _rows(session: Session, period: Period) -> list[dict[str, Any]]:
    cols = [_T.c[name] for name in (
        "id", "customer_id", "team", "owner_id", "root_cause", "priority", "kind", "score",
        "status", "outcome", "opened_at", "first_contact_at", "reached_at", "resolved_at",
        "first_contact_due_at", "resolution_due_at", "first_contact_breached_at",
        "resolution_breached_at", "followup_invitation_id", "followup_score",
        "followup_classification")]
    stmt = (sa.select(*cols, _U.c.name.label("owner_name"))
            .select_from(_T.outerjoin(_U, _U.c.id == _T.c.owner_id))
            .where(_T.c.opened_at >= period.start, _T.c.opened_at < period.end))
    return [dict(r._mapping) for r in session.execute(stmt)]


def _key(row: dict[str, Any], group_by: str) -> str:
    if group_by == "month":
        return row["opened_at"].strftime("%Y-%m")
    if group_by == "owner":
        return row["owner_name"] or "(unassigned)"
    return str(row[group_by] or "(none)")


def loop_metrics(session: Session, period: Period, *, group_by: str | None = None,
                 settings: Any = None, now: datetime | None = None) -> dict[str, Any]:
    if group_by is not None and group_by not in GROUPS:
        raise ValidationFailed(f"group_by must be one of {', '.join(GROUPS)}", field="group_by")
    now = now or period.end
    rows = _rows(session, period)
    # Durations in the unit the SLA counts: open hours when business hours are configured.
    pol = policies.current(session, settings) if settings is not None else None
    calendar = pol.calendar(None) if pol is not None and pol.has_business_hours else None
    out: dict[str, Any] = {
        "from": period.start.date().isoformat(), "to": (period.end - timedelta(days=1)).date().isoformat(),
        "group_by": group_by, "overall": summarize(rows, now, calendar), "groups": [],
        "durations_in": "business_hours" if calendar is not None else "hours",
    }
    if settings is not None:
        first, resolution = pol.windows(None, "normal")  # type: ignore[union-attr]
        out["sla_hours"] = {"first_contact": first.total_seconds() / 3600,
                            "resolution": resolution.total_seconds() / 3600,
                            "business_hours": calendar is not None}
    if group_by:
        buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            buckets[_key(r, group_by)].append(r)
        out["groups"] = [{"key": k, **summarize(v, now, calendar)} for k, v in sorted(buckets.items())]
    return out
