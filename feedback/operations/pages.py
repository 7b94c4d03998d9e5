"""`/reports/operations`: the operations report for CX leads, beside the dashboard.

Server-rendered like the other report pages (filters are a GET form, charts are inline SVG
with their data tables, each links to its CSV with the page's own query string), and built
from the same `service.report` as the API, so page, CSV and JSON cannot disagree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Template

from feedback.auth.permissions import team_params
from feedback.deps import Conf, Db, Now
from feedback.operations import service
from feedback.operations.models import BREAKDOWNS
from feedback.operations.schemas import operations_query
from feedback.reports import charts
from feedback.reports.pages import KPI_NAME, KPI_RANGE, PAGE, _options, fmt, signed
from feedback.reports.params import report_query
from feedback.reports.service import GRAINS


def _interval(e: dict[str, Any] | None) -> tuple[float, float] | None:
    return (e["low"], e["high"]) if e and e.get("low") is not None else None


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    t = data["trend"]
    xs = [p["bucket"] for p in t]
    aht = charts.line_chart(
        [charts.Series("AHT (s)", xs, [p["aht"]["value"] for p in t],
                       low=[p["aht"]["low"] for p in t], high=[p["aht"]["high"] for p in t]),
         charts.Series("ASA (s)", xs, [p["asa"]["value"] for p in t])],
        title=f"Handle time and speed of answer by {data['grain']} (seconds)", y_min=0,
        chart_id="ops-trend", width=1100, height=300)
    rows = [r for r in data["breakdown"] if r["aht"]["value"] is not None][:25]
    by = charts.bar_chart([(r["key"], r["aht"]["value"]) for r in rows],
                          intervals=[_interval(r["aht"]) for r in rows],
                          title=f"AHT by {data['by']} (seconds)", value_min=0,
                          chart_id="ops-breakdown", width=760)
    kind = data["satisfaction"]["kpi"]
    lo, hi = KPI_RANGE[kind]
    levers = {}
    for lv in data["satisfaction"]["levers"]:
        bands = [b for b in lv["bands"] if b.get(kind)]
        levers[lv["lever"]] = charts.bar_chart(
            [(b["band"], b[kind]["value"]) for b in bands],
            intervals=[_interval(b[kind]) for b in bands],
            title=f"{KPI_NAME[kind]} by {lv['label'].lower()}", value_min=lo if kind == "nps" else 0,
            value_max=hi, chart_id=f"ops-lever-{lv['lever']}", width=520)
    return {"trend": aht, "breakdown": by, "levers": levers}


@get("/reports/operations", **PAGE)
def operations_page(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Template:
    p = team_params(request)
    oq = operations_query(db, settings, now, p)
    data = service.report(db, oq.filters, now, grain=oq.grain, by=oq.by, window=oq.window)

    def url(path: str, **extra: Any) -> str:
        return f"{path}?{urlencode(oq.query(**extra))}"

    return Template(template_name="reports/operations.html", context={
        "f": oq.filters, "p": p, "options": _options(db, report_query(db, settings, now, p)),
        "fmt": fmt, "signed": signed, "url": url, "data": data, "hide_carry": True,
        "grains": GRAINS, "breakdowns": BREAKDOWNS, "kind_name": KPI_NAME,
        "charts": _charts(data),
        "tables": {name: service.table(data, name) for name in service.TABLES}})


routes = [operations_page]
