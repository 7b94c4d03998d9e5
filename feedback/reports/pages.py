"""The CX lead's pages: dashboard (/reports), themes (/reports/themes) and closed loop
(/reports/loop).

Server-rendered and complete without JavaScript: the filters are a GET form, so every view is
a URL a lead can share or bookmark; charts are inline SVG from `charts` (no CDN, printable,
each with a text alternative and its data table), and every chart links to its CSV in the API
with the page's own query string. The figures come from the same `service` calls as the JSON
API, so the page and the API cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from litestar import Request, get
from litestar.response import Template
from sqlmodel import Session

from feedback import i18n
from feedback.auth.permissions import allow, team_params
from feedback.deps import Conf, Db, Now
from feedback.reports import (
    answers_source,
    charts,
    datasets,
    loop_source,
    params,
    service,
    themes_source,
)
from feedback.reports.endpoints import loop_report, theme_report
from feedback.reports.figures import local_midnight
from feedback.reports.repository import COARSE, R
from surveys.errors import NotFound

PAGE = {"sync_to_thread": True, "guards": [allow("report.read")], "include_in_schema": False}
KPI_RANGE = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}
KPI_NAME = {"nps": "NPS", "csat": "CSAT %", "ces": "CES"}


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:.0f}" if unit in ("tasks", "") and float(value).is_integer() else f"{value:.1f}"
    return f"{text} %" if unit == "%" else text


def signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f}"


def _formatters(loc: str) -> dict[str, Any]:
    """`fmt` and `signed` in the viewer's language (grouping, decimal mark, Persian digits)."""
    def fmt_(value: float | None, unit: str = "") -> str:
        if value is None:
            return "–"
        whole = unit in ("tasks", "") and float(value).is_integer()
        text = i18n.number(loc, value, 0 if whole else 1)
        return i18n.t(loc, "staff.report.percent", v=text) if unit == "%" else text

    def signed_(value: float | None) -> str:
        return "–" if value is None else i18n.number(loc, value, 1, sign=True)

    return {"fmt": fmt_, "signed": signed_, "t": i18n.translator(loc)}


def _url(path: str, q: service.Query, **extra: Any) -> str:
    return f"{path}?{urlencode(q.filters.query(**extra))}"


def _options(db: Session, q: service.Query) -> dict[str, list[str]]:
    """Values for the filter pick-lists: the small rollup table, plus the rows it does not
    hold yet (today's, or all of them before the worker's first run)."""
    until = q.view.responses_until
    out = {}
    for dim in ("team", "channel", "queue"):
        rolled = sa.select(COARSE.c[dim]).where(COARSE.c[dim].is_not(None)).distinct()
        live = sa.select(R.c[dim]).where(R.c[dim].is_not(None)).distinct()
        if until is not None:
            live = live.where(R.c.submitted_at >= local_midnight(until, q.filters.tz))
        values = {v for (v,) in db.execute(rolled.limit(200))} | {
            v for (v,) in db.execute(live.limit(200))}
        out[dim] = sorted(values, key=str.casefold)
    return out


def _common(db: Session, q: service.Query, p: Mapping[str, str], loc: str = "en",
            **extra: Any) -> dict[str, Any]:
    return {"f": q.filters, "p": p, "options": _options(db, q), **_formatters(loc),
            "url": lambda path, **kw: _url(path, q, **{**_carry(p), **kw}), **extra}


def _carry(p: Mapping[str, str]) -> dict[str, str]:
    """Display choices that links and CSV downloads keep (the filters are added separately)."""
    return {k: p[k] for k in ("grain", "by", "score", "survey") if p.get(k)}


# --- dashboard ---------------------------------------------------------------------------------


def _trend_chart(trend: list[dict[str, Any]], kind: str, grain: str, t: Any = None) -> Any:
    xs = [p["bucket"] for p in trend]
    est = [p.get(kind) or {} for p in trend]
    lo, hi = KPI_RANGE[kind]
    series = charts.Series(KPI_NAME[kind], xs, [e.get("value") for e in est],
                           low=[e.get("low") for e in est], high=[e.get("high") for e in est])
    title = (t or i18n.translator("en"))("staff.chart.trend", kpi=KPI_NAME[kind],
                                         grain=(t or i18n.translator("en"))(f"staff.grain.{grain}"))
    return charts.line_chart([series], title=title,
                             y_label=KPI_NAME[kind], y_min=lo if kind != "nps" else None,
                             y_max=hi if kind == "csat" else None, chart_id="trend-chart",
                             width=1100, height=320)


def _breakdown_chart(rows: list[dict[str, Any]], kind: str, by: str, t: Any = None) -> Any:
    shown = [r for r in rows if r.get(kind)][:25]
    items = [(r["key"], r[kind]["value"]) for r in shown]
    intervals = [(r[kind]["low"], r[kind]["high"]) if r[kind]["low"] is not None else None
                 for r in shown]
    lo, hi = KPI_RANGE[kind]
    tr = t or i18n.translator("en")
    return charts.bar_chart(items, intervals=intervals,
                            title=tr("staff.chart.by", kpi=KPI_NAME[kind], by=tr(f"staff.by.{by}")),
                            value_min=lo if kind == "nps" else 0, value_max=hi if kind != "ces" else 7,
                            chart_id="breakdown-chart", width=760)


def _heatmap_chart(h: dict[str, Any], t: Any = None) -> Any:
    t = t or i18n.translator("en")
    width = h["hours_per_cell"]
    title = (t("staff.heatmap.title", zone=h["time_zone"]) if width == 1 else
             t("staff.heatmap.title_blocks", zone=h["time_zone"], width=width))
    summary = (t("staff.heatmap.blank", n=h["min_n"]) if width == 1 else
               t("staff.heatmap.blank_blocks", n=h["min_n"], width=width))
    return charts.heatmap([t(f"staff.weekday.{r}") for r in h["rows"]], h["block_cols"],
                          h["block_share"], vmin=0, vmax=100, title=title,
                          row_label=t("staff.heatmap.day"),
                          col_label=t("staff.heatmap.hour" if width == 1 else "staff.heatmap.hours"),
                          chart_id="heatmap-chart", width=760, summary=summary)


def _sparks(trend: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for kind in ("nps", "csat", "ces"):
        values = [(p.get(kind) or {}).get("value") for p in trend]
        if any(v is not None for v in values):
            out[kind] = charts.sparkline(values, title=f"{KPI_NAME[kind]} trend",
                                         chart_id=f"spark-{kind}")
    return out


@get("/reports", **PAGE)
def dashboard_page(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Template:
    p = team_params(request)
    q = params.report_query(db, settings, now, p)
    data = service.dashboard(db, q, now, grain=params.grain(p, q), by=params.breakdown(p))
    kind = data["primary"]
    loc = i18n.request_locale(request)
    t = i18n.translator(loc)
    chosen = (p.get("survey") or "").strip()[:40] or None
    split = answers_source.report(db, q.filters, chosen if chosen in
                                  answers_source.surveys_with_answers(db) else None)
    return Template(template_name="reports/dashboard.html", context=_common(
        db, q, p, loc, data=data, kind=kind, kind_name=KPI_NAME[kind], split=split,
        grains=service.GRAINS, breakdowns=service.BREAKDOWNS, sparks=_sparks(data["trend"]),
        hide_carry=True,
        trend_chart=_trend_chart(data["trend"], kind, data["grain"], t),
        breakdown_chart=_breakdown_chart(data["breakdown"], kind, data["by"], t),
        heatmap_chart=_heatmap_chart(data["heatmap"], t),
        tables={"tiles": datasets.tiles_table(data["tiles"]),
                "trend": datasets.trend_table(data["trend"]),
                "breakdown": datasets.breakdown_table(data["by"], data["breakdown"])},
    ))


# --- themes ------------------------------------------------------------------------------------


def _interval(pair: list[float | None] | None) -> tuple[float, float] | None:
    if not pair or pair[0] is None or pair[1] is None:
        return None
    return pair[0], pair[1]


def _theme_charts(report: dict[str, Any]) -> dict[str, Any]:
    themes = report["themes"][:15]
    if not themes:
        return {}
    by_impact = sorted((t for t in themes if t.get("impact") is not None),
                       key=lambda t: t["impact"])
    buckets = report.get("buckets", [])
    return {
        "volume": charts.bar_chart([(t["theme"], t["count"]) for t in themes],
                                   title="Responses per theme", chart_id="themes-volume",
                                   value_min=0, width=760),
        "impact": charts.bar_chart([(t["theme"], t["impact"]) for t in by_impact],
                                   intervals=[_interval(t.get("impact_interval"))
                                              for t in by_impact],
                                   title="Impact: net sentiment points (positive minus "
                                   "negative mentions per 100 comments)",
                                   chart_id="themes-impact", width=760),
        "trends": {t["theme"]: charts.sparkline(
            [100.0 * b["themes"].get(t["theme"], {}).get("share", 0.0) for b in buckets],
            title=f"Share of comments about {t['theme']}", chart_id=f"theme-spark-{i}")
            for i, t in enumerate(themes)},
    }


def _example_links(db: Session, report: dict[str, Any], q: service.Query) -> dict[int, str]:
    """Each verbatim links to its recovery task when it opened one, else to its row in the
    theme's drill-down."""
    ids = [ex["response_id"] for t in report["themes"] for ex in t.get("examples", [])]
    tasks = loop_source.tasks_for_responses(db, ids)
    out = {}
    for t in report["themes"]:
        for ex in t.get("examples", []):
            rid = ex["response_id"]
            out[rid] = (loop_source.task_url(tasks[rid]) if rid in tasks else
                        f"{_url('/reports/themes/' + quote(t['theme'], safe=''), q)}#r{rid}")
    return out


@get("/reports/themes", **PAGE)
def themes_page(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Template:
    p = team_params(request)
    q = params.report_query(db, settings, now, p)
    report = theme_report(db, q, now, p)
    loc = i18n.request_locale(request)
    fmt_ = _formatters(loc)["fmt"]
    return Template(template_name="reports/themes.html", context=_common(
        db, q, p, loc, report=report, charts=_theme_charts(report), links=_example_links(db, report, q),
        table=datasets.themes_table(report), min_n=themes_source.MIN_N,
        pct=lambda share: (i18n.t(loc, "staff.themes.no_data") if share is None
                           else fmt_(100.0 * share, "%"))))


@get("/reports/themes/{theme:str}", **PAGE)
def theme_page(theme: str, request: Request[Any, Any, Any], db: Db, now: Now,
               settings: Conf) -> Template:
    p = team_params(request)
    q = params.report_query(db, settings, now, p)
    page = params.page_number(p)
    score = params.score_class(p)
    found = themes_source.theme_responses(db, theme, q.filters, limit=50, offset=(page - 1) * 50,
                                          score_class=score)
    if found["state"] != themes_source.READY or found["theme"] is None:
        raise NotFound(f"no theme {theme!r}")
    ids = [r["id"] for r in found["responses"]]
    tasks = {rid: loop_source.task_url(t) for rid, t in loop_source.tasks_for_responses(db, ids).items()}
    back = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
    return Template(template_name="reports/theme.html", context=_common(
        db, q, p, i18n.request_locale(request), found=found, page=page, score=score,
        score_classes=params.SCORE_CLASSES, theme=theme, tasks=tasks, back=back,
        tags=themes_source.themes_for_responses(db, ids), all_themes=themes_source.names(db)))


# --- closed loop -------------------------------------------------------------------------------


def _month_label(key: str, start: date, end: date) -> str:
    """"Nov 2026", or "2–30 Nov 2026" / "1 Dec 2026" for a month the window covers only in
    part: a bar of one day beside a bar of thirty must not read as a collapse."""
    first = date(int(key[:4]), int(key[5:7]), 1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    name = first.strftime("%b %Y")
    lo, hi = max(first, start), min(last, end)
    if (lo, hi) == (first, last):
        return name
    return f"{lo.day} {name}" if lo == hi else f"{lo.day}–{hi.day} {name}"


def _loop_charts(report: dict[str, Any], f: Any) -> dict[str, Any]:
    months, teams, causes = report["months"], report["teams"], report["root_causes"]
    return {
        "reached": charts.bar_chart([(_month_label(m["key"], f.start_day, f.end_day),
                                      m["customers_reached"]) for m in months],
                                    title="Customers reached per month", value_min=0,
                                    chart_id="loop-reached", width=760, counts=True),
        "breaches": charts.bar_chart(
            [(t["key"], t["breaches"]["first_contact"] + t["breaches"]["resolution"])
             for t in teams], title="SLA breaches by team (first contact + resolution)",
            value_min=0, chart_id="loop-breaches", width=760, counts=True),
        "causes": charts.bar_chart([(c["key"], c["tasks"]) for c in causes],
                                   title="Tasks by root cause", value_min=0,
                                   chart_id="loop-causes", width=760, counts=True),
    }


@get("/reports/loop", **PAGE)
def loop_page(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Template:
    p = team_params(request)
    q = params.report_query(db, settings, now, p)
    report = loop_report(db, q, now, settings)
    tables = {part: datasets.loop_table(report, part)
              for part in ("months", "teams", "root_causes")}
    return Template(template_name="reports/loop.html", context=_common(
        db, q, p, i18n.request_locale(request), report=report, charts=_loop_charts(report, q.filters), tables=tables))


routes = [dashboard_page, themes_page, theme_page, loop_page]
