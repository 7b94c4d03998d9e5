"""KPI API: NPS, CSAT %, CES (mean and % easy), response rate — overall and grouped.

Counting goes through `feedback.reports` (daily rollups for settled days, live rows for today),
the maths — including each figure's 95 % margin of error — through `surveys.kpis`, so the
dashboard, the CSV exports and this API always show the same figures for the same filters.
Dates are calendar days in the report time zone (`report_time_zone`, default UTC).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter
from sqlmodel import Session

from feedback.auth.permissions import allow, team_params
from feedback.deps import Conf, Db, Now
from feedback.reports import repository as repo
from feedback.reports import service
from feedback.reports.figures import Counts, Filters, make_filters
from surveys.errors import ValidationFailed

__all__ = ["GROUPS", "Counts", "Filters", "get_kpis", "kpi_counts", "kpi_report", "make_filters",
           "response_rate"]

GROUPS = ("day", "week", "month", "team", "agent", "channel", "queue", "kind")


def kpi_counts(session: Session, filters: Filters, group_by: str | None = None, *,
               view: repo.RollupView | None = None) -> tuple[Counts, dict[str, Counts]]:
    """Overall counts and counts per group key (ISO date of the bucket for day/week/month)."""
    view = view if view is not None else repo.rollup_view(session, filters.tz)
    overall, groups = Counts(), {}
    if group_by in ("day", "week", "month"):
        days = service.daily(session, service.Query(filters, view), previous=False)
        for point in sorted(days):
            key = service.bucket_of(point, group_by).isoformat()
            groups.setdefault(key, Counts()).merge(days[point])
            overall.merge(days[point])
        return overall, dict(sorted(groups.items()))
    if group_by:  # by kind too: the shared helper puts the kind in the key and the measures
        counted = service._grouped(session, filters, group_by, view)
    else:
        counted = service._counts(repo.response_rows(session, filters, [], view), 0)
    width = 1 if group_by else 0
    for key, c in sorted(counted.items(),
                         key=lambda kv: service._key(kv[0][0]) if width else ""):
        overall.merge(c)
        if group_by:
            groups[service._key(key[0])] = c
    return overall, groups


def response_rate(session: Session, filters: Filters,
                  view: repo.RollupView | None = None) -> dict[str, Any]:
    """Of the invitations sent in the period (matching the filters), how many were answered."""
    view = view if view is not None else repo.rollup_view(session, filters.tz)
    return service.response_rate(session, filters, view)


def kpi_report(session: Session, filters: Filters, group_by: str | None, *,
               live: bool = False) -> dict[str, Any]:
    if group_by is not None and group_by not in GROUPS:
        raise ValidationFailed(f"group_by must be one of {', '.join(GROUPS)}", field="group_by")
    view = repo.RollupView.live() if live else repo.rollup_view(session, filters.tz)
    overall, groups = kpi_counts(session, filters, group_by, view=view)
    summary = overall.summary()
    summary["response_rate"] = response_rate(session, filters, view)
    return {
        "filters": filters.to_dict(),
        "group_by": group_by,
        "overall": summary,
        "groups": [{"key": k, **c.summary()} for k, c in groups.items()] if group_by else [],
    }


@get("/api/kpis", sync_to_thread=True, guards=[allow("kpi.read")], tags=["reports"],
     summary="NPS, CSAT %, CES and response rate with 95 % margins of error")
def get_kpis(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
             from_: Annotated[str | None, QueryParameter(name="from")] = None, to: str | None = None,
             kind: str | None = None, group_by: str | None = None, team: str | None = None,
             channel: str | None = None, agent: str | None = None, queue: str | None = None,
             ) -> dict[str, Any]:
    from feedback.reports.figures import report_zone

    team = team_params(request).get("team", team)  # a team lead sees only their team
    filters = make_filters(now, from_, to, kind, report_zone(settings), team=team,
                           channel=channel, agent=agent, queue=queue)
    return kpi_report(db, filters, group_by)


routes = [get_kpis]
