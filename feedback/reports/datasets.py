"""Every chart's data as a flat table (header + rows): the CSV downloads and the pages' data
tables (the text alternative under each chart) are built from these, so a download always
holds exactly the figures the chart shows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Table = tuple[list[str], list[list[Any]]]

KPI_COLUMNS = ("nps", "csat", "ces", "ces_easy")
LOOP_COLUMNS = [
    "tasks", "open", "customers_reached", "first_contact_median_h", "first_contact_p90_h",
    "resolution_median_h", "resolution_p90_h", "first_contact_within_sla_pct",
    "resolution_within_sla_pct", "first_contact_breaches", "resolution_breaches",
    "recovery_rate_pct", "followup_answered", "followup_recovered_pct",
]


def rounded(header: list[str], rows: list[list[Any]]) -> Table:
    """Figures as a person reads them: two decimals (NPS -2.05, not -2.0547945205479454),
    p-values four. The computations keep full precision; only the download is rounded."""
    places = [4 if name == "p_value" else 2 for name in header]
    return header, [[round(v, d) if isinstance(v, float) else v for v, d in zip(row, places, strict=False)]
                    for row in rows]


def _estimate(summary: dict[str, Any], kpi: str) -> list[Any]:
    est = summary.get(kpi) or {}
    return [est.get("value"), est.get("moe"), est.get("n")]


def _kpi_header() -> list[str]:
    return [f"{k}{suffix}" for k in KPI_COLUMNS for suffix in ("", "_moe", "_n")]


def summary_table(first: str, items: Iterable[tuple[str, dict[str, Any]]]) -> Table:
    """Rows of KPI summaries (`Counts.summary()` dicts) keyed by bucket or group."""
    header = [first, "responses", *_kpi_header(), "negative_share"]
    rows = [[key, s.get("responses", 0), *[v for k in KPI_COLUMNS for v in _estimate(s, k)],
             s.get("negative_share")] for key, s in items]
    return header, rows


def tiles_table(tiles: list[dict[str, Any]]) -> Table:
    header = ["kpi", "label", "value", "moe", "low", "high", "n", "previous", "delta",
              "p_value", "significant"]
    return header, [[t.get(c) if c != "kpi" else t["key"] for c in header] for t in tiles]


def trend_table(points: list[dict[str, Any]]) -> Table:
    return summary_table("bucket", ((p["bucket"], p) for p in points))


def breakdown_table(by: str, rows: list[dict[str, Any]]) -> Table:
    header, out = summary_table(by, ((r["key"], r) for r in rows))
    header += ["response_rate", "invitations_sent", "previous_responses",
               "nps_delta", "nps_significant", "csat_delta", "csat_significant",
               "ces_delta", "ces_significant"]
    for row, r in zip(out, rows, strict=True):
        rate = r.get("response_rate") or {}
        row += [rate.get("value"), rate.get("sent"), r.get("previous_responses")]
        for k in ("nps", "csat", "ces"):
            change = r["change"][k]
            row += [change["delta"], change["significant"]]
    return header, out


def heatmap_table(h: dict[str, Any]) -> Table:
    header = ["weekday", "hour", "responses", "negative", "negative_share_pct"]
    rows = [[day, h["cols"][c], h["n"][r][c], h["negative"][r][c], h["share"][r][c]]
            for r, day in enumerate(h["rows"]) for c in range(len(h["cols"]))]
    return header, rows


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100.0 * share, 1)


def themes_table(report: dict[str, Any]) -> Table:
    """Themes as `feedback.insights.analytics.report` gives them (shares are fractions); empty
    cells are "no data" (too few responses), never 0."""
    header = ["theme", "responses", "commented", "share_pct", "share_low_pct", "share_high_pct",
              "positive", "neutral", "negative", "unhappy_pct", "unhappy_low_pct",
              "unhappy_high_pct", "impact_points", "impact_low", "impact_high",
              "key_driver_points", "emerging"]
    rows = []
    for t in report.get("themes", []):
        mood = t.get("sentiment") or {}
        share = t.get("share_interval") or [None, None]
        unhappy = t.get("unhappy_interval") or [None, None]
        impact = t.get("impact_interval") or [None, None]
        rows.append([t["theme"], t.get("count"), t.get("commented"), _pct(t.get("share")),
                     _pct(share[0]), _pct(share[1]), mood.get("positive", 0),
                     mood.get("neutral", 0), mood.get("negative", 0), _pct(t.get("unhappy")),
                     _pct(unhappy[0]), _pct(unhappy[1]), t.get("impact"), impact[0], impact[1],
                     t.get("key_driver"), bool(t.get("emerging"))])
    return header, rows


def _loop_row(s: dict[str, Any]) -> list[Any]:
    fc, res = s["first_contact_hours"], s["resolution_hours"]
    return [s["tasks"], s["open"], s["customers_reached"], fc["median"], fc["p90"],
            res["median"], res["p90"], s["first_contact_within_sla_pct"],
            s["resolution_within_sla_pct"], s["breaches"]["first_contact"],
            s["breaches"]["resolution"], s["recovery_rate_pct"], s["followup"]["answered"],
            s["followup"]["recovered_pct"]]


def loop_table(report: dict[str, Any] | None, part: str = "months") -> Table:
    """One of the closed-loop report's groupings: months, teams or root_causes."""
    first = {"months": "month", "teams": "team", "root_causes": "root_cause"}[part]
    if not report:
        return [first, *LOOP_COLUMNS], []
    return [first, *LOOP_COLUMNS], [[g["key"], *_loop_row(g)] for g in report[part]]
