"""Report API for CX leads: the JSON behind every page, each chart's data as CSV, and the
streamed exports. Filters are the query parameters of `/api/kpis` (`from`, `to`, `kind`,
`team`, `channel`, `agent`, `queue`); the pages link here with their own query string, so a
download always matches the view it was taken from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Stream
from sqlmodel import Session

from feedback.auth import audit
from feedback.auth.permissions import allow, team_params
from feedback.deps import Conf, Db, Now
from feedback.kpis import GROUPS, kpi_report
from feedback.reports import (
    answers_source,
    datasets,
    exports,
    loop_source,
    params,
    service,
    themes_source,
)
from feedback.reports.csvstream import iter_csv, primed
from surveys.errors import NotFound, ValidationFailed

CHARTS = ("tiles", "trend", "breakdown", "heatmap", "themes", "loop-months", "loop-teams",
          "loop-root-causes")
API = {"sync_to_thread": True, "guards": [allow("report.read")], "tags": ["reports"]}
EXPORT = {**API, "guards": [allow("report.export")]}


def _params(request: Request[Any, Any, Any]) -> Mapping[str, str]:
    return team_params(request)


def csv_stream(chunks: Iterator[bytes], name: str) -> Stream:
    # "text/csv": Litestar appends "; charset=utf-8" to every text/* type itself.
    return Stream(content=primed(chunks, name), media_type="text/csv",
                  headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                           "Cache-Control": "no-store"})


def loop_report(db: Session, q: service.Query, now: datetime, settings: Any) -> dict[str, Any]:
    return {"filters": q.filters.to_dict(), **loop_source.report(db, q.filters, now, settings)}


def theme_report(db: Session, q: service.Query, now: datetime,
                 p: Mapping[str, str]) -> dict[str, Any]:
    grain = params.bad_request(service.parse_choice, p.get("grain"), ("week", "month"),
                               "grain", "week")
    return {"filters": q.filters.to_dict(), "grain": grain,
            **themes_source.theme_report(db, q.filters, now, grain=grain)}


@get("/api/reports/dashboard", **API, summary="KPI tiles, trend, breakdown and heatmap")
def dashboard(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    p = _params(request)
    q = params.report_query(db, settings, now, p)
    return service.dashboard(db, q, now, grain=params.grain(p, q), by=params.breakdown(p))


@get("/api/reports/breakdown", **API, summary="KPIs per team, agent, channel, queue or kind")
def breakdown(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    p = _params(request)
    q = params.report_query(db, settings, now, p)
    by = params.breakdown(p)
    return {"filters": q.filters.to_dict(), "by": by, "rows": service.breakdown(db, q, by)}


@get("/api/reports/heatmap", **API, summary="Negative share by local weekday x hour")
def heatmap(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    q = params.report_query(db, settings, now, _params(request))
    return {"filters": q.filters.to_dict(), **service.heatmap(db, q)}


@get("/api/reports/themes", **API, summary="Themes by volume and impact, sentiment, trend")
def themes(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    p = _params(request)
    return theme_report(db, params.report_query(db, settings, now, p), now, p)


@get("/api/reports/themes/{theme:str}", **API, summary="The responses of one theme")
def theme_detail(theme: str, request: Request[Any, Any, Any], db: Db, now: Now,
                 settings: Conf) -> dict[str, Any]:
    p = _params(request)
    q = params.report_query(db, settings, now, p)
    page = params.page_number(p)
    found = themes_source.theme_responses(db, theme, q.filters, limit=50, offset=(page - 1) * 50)
    if found["state"] == themes_source.READY and found["theme"] is None:
        raise NotFound(f"no theme {theme!r}")
    return {"filters": q.filters.to_dict(), "page": page, **found}


@get("/api/reports/answers", **API,
     summary="A survey's extra questions split by question: each answer's count, share and n")
def answers(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
            survey: str | None = Parameter(default=None, max_length=40, description=(
                "the survey's key; default: the first survey with answers"))) -> dict[str, Any]:
    q = params.report_query(db, settings, now, _params(request))
    return {"filters": q.filters.to_dict(), **answers_source.report(db, q.filters, survey)}


@get("/api/reports/loop", **API, summary="Closed loop: reach, time to contact, SLA, recovery")
def loop(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    q = params.report_query(db, settings, now, _params(request))
    return loop_report(db, q, now, settings)


def chart_table(chart: str, db: Session, q: service.Query, now: datetime, settings: Any,
                p: Mapping[str, str]) -> datasets.Table:
    if chart == "tiles":
        return datasets.tiles_table(service.tiles(db, q, service.daily(db, q), now))
    if chart == "trend":
        days = service.daily(db, q, previous=False)
        return datasets.trend_table(service.trend(days, q.filters, params.grain(p, q)))
    if chart == "breakdown":
        by = params.breakdown(p)
        return datasets.breakdown_table(by, service.breakdown(db, q, by))
    if chart == "heatmap":
        return datasets.heatmap_table(service.heatmap(db, q))
    if chart == "themes":
        return datasets.themes_table(theme_report(db, q, now, p))
    part = chart.removeprefix("loop-").replace("-", "_")
    return datasets.loop_table(loop_source.report(db, q.filters, now, settings), part)


@get("/api/reports/csv/{chart:str}", **API, summary="One chart's data as CSV")
def chart_csv(chart: str, request: Request[Any, Any, Any], db: Db, now: Now,
              settings: Conf) -> Stream:
    if chart not in CHARTS:
        raise ValidationFailed(f"chart must be one of {', '.join(CHARTS)}", field="chart",
                               status_code=400)
    p = _params(request)
    q = params.report_query(db, settings, now, p)
    header, rows = datasets.rounded(*chart_table(chart, db, q, now, settings, p))
    return csv_stream(iter_csv(header, rows, bom=True), chart)


@get("/api/reports/export/responses", **EXPORT, summary="Every response (with themes) as CSV")
def export_responses(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Stream:
    q = params.report_query(db, settings, now, _params(request))
    audit.of_request(None, request, now, "export.responses", detail=q.filters.to_dict())
    return csv_stream(exports.responses_csv(request.app.state.engine, q.filters), "responses")


@get("/api/reports/export/tasks", **EXPORT, summary="Recovery tasks opened in the period as CSV")
def export_tasks(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Stream:
    q = params.report_query(db, settings, now, _params(request))
    chunks = exports.tasks_csv(request.app.state.engine, q.filters)
    audit.of_request(None, request, now, "export.tasks", detail=q.filters.to_dict())
    return csv_stream(chunks, "tasks")


@get("/api/reports/export/kpis", **API, summary="The KPI table (overall or grouped) as CSV")
def export_kpis(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Stream:
    p = _params(request)
    q = params.report_query(db, settings, now, p)
    group_by = p.get("group_by") or None
    if group_by is not None and group_by not in GROUPS:
        raise ValidationFailed(f"group_by must be one of {', '.join(GROUPS)}", field="group_by",
                               status_code=400)
    report = kpi_report(db, q.filters, group_by)
    items = [(g["key"], g) for g in report["groups"]] if group_by else [("all", report["overall"])]
    header, rows = datasets.summary_table(group_by or "scope", items)
    return csv_stream(iter_csv(header, rows, bom=True), "kpis")


routes = [dashboard, breakdown, heatmap, themes, theme_detail, answers, loop, chart_csv,
          export_responses, export_tasks, export_kpis]
