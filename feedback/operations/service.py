"""The operations report as plain, JSON-ready dicts: the API returns them, the page charts
them, the CSV flattens them (`tables`) and the alert job reuses the same counts.

Formulas are `formulas`; counting is `repository`; satisfaction maths (intervals, significance)
is `surveys.kpis` through `reports.figures.Counts`, exactly as on the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from feedback.operations import formulas
from feedback.operations import repository as repo
from feedback.operations.formulas import QueueCounts
from feedback.operations.models import BREAKDOWNS, DEFAULT_REPEAT_WINDOW, MAX_REPEAT_WINDOW_DAYS
from feedback.reports.figures import Counts, Filters, bucket_of, compare
from feedback.reports.service import NONE_KEY, primary_kind
from surveys import kpis
from surveys.errors import ValidationFailed

LEVER_LABELS = {"aht": "Handle time", "wait": "Wait before answer", "transfers": "Transfers",
                "fcr_agent": "Resolved (agent says)", "fcr_customer": "Resolved (customer says)"}
MIN_BAND_N = 10  # a band with fewer answers is shown but neither tested nor ranked
TREND_KPIS = ("aht", "asa", "abandonment", "fcr_agent")


def repeat_window(value: str | None) -> timedelta:
    if not value:
        return DEFAULT_REPEAT_WINDOW
    if not value.isdigit() or not 1 <= int(value) <= MAX_REPEAT_WINDOW_DAYS:
        raise ValidationFailed(f"window_days must be a whole number from 1 to "
                               f"{MAX_REPEAT_WINDOW_DAYS}", field="window_days")
    return timedelta(days=int(value))


def breakdown_of(value: str | None) -> str:
    if not value:
        return "team"
    if value not in BREAKDOWNS:
        raise ValidationFailed(f"by must be one of {', '.join(BREAKDOWNS)}", field="by")
    return value


def fcr_summary(v: dict[str, int] | None) -> dict[str, Any]:
    """FCR three ways and where they disagree (each disagreement as a share of the contacts
    both views judged)."""
    v = v or {}

    def g(name: str) -> int:
        return int(v.get(name, 0))

    def gap(a: str, b: str, n: str) -> dict[str, Any]:
        both = g(n)
        return {"n": both, a: g(a), b: g(b),
                "disagree_pct": round(100.0 * (g(a) + g(b)) / both, 2) if both else None}

    return {
        "agent": formulas.fcr(g("agent_yes"), g("agent_n")).to_dict(),
        "customer": formulas.fcr(g("customer_yes"), g("customer_n")).to_dict(),
        "inferred": formulas.fcr(g("inferred_yes"), g("inferred_n")).to_dict(),
        "agent_vs_customer": gap("agent_yes_customer_no", "agent_no_customer_yes",
                                 "agent_customer_n"),
        "agent_vs_inferred": gap("agent_yes_inferred_no", "agent_no_inferred_yes",
                                 "agent_inferred_n"),
    }


def _buckets(f: Filters, grain: str) -> list[date]:
    out, day = [], f.start_day
    while day <= f.end_day:
        b = bucket_of(day, grain)
        if not out or out[-1] != b:
            out.append(b)
        day += timedelta(days=1)
    return out


def trend(session: Session, f: Filters, grain: str, view: repo.OpsView | None = None
          ) -> list[dict[str, Any]]:
    days = repo.daily_queue_counts(session, f, view)
    acc: dict[date, QueueCounts] = {b: QueueCounts() for b in _buckets(f, grain)}
    for day, counts in days.items():
        acc.setdefault(bucket_of(day, grain), QueueCounts()).add(counts)
    out = []
    for b in sorted(acc):
        s = formulas.summary(acc[b])
        out.append({"bucket": b.isoformat(), "contacts": acc[b].contacts,
                    **{k: s[k] for k in TREND_KPIS}})
    return out


def _key(value: Any) -> str:
    return NONE_KEY if value is None else str(value)


@dataclass
class Grouped:
    """Queue counts and FCR views per value of one dimension. Every measure is a count or a
    sum, so the whole is the sum of its groups: one scan serves the total and the breakdown."""

    counts: dict[Any, QueueCounts]
    fcr: dict[Any, dict[str, int]]

    @classmethod
    def read(cls, session: Session, f: Filters, by: str, *, window: timedelta,
             now: datetime, view: repo.OpsView | None = None) -> tuple[Grouped, Grouped]:
        """The breakdown by `by` and the one by agent (the scorecard's), counted together."""
        both = repo.grouped(session, f, [by, "agent"], window=window, now=now, view=view)
        return cls(*both[by]), cls(*both["agent"])

    def total(self) -> tuple[QueueCounts, dict[str, int]]:
        counts = QueueCounts()
        for c in self.counts.values():
            counts.add(c)
        fcr: dict[str, int] = {}
        for views in self.fcr.values():
            for name, v in views.items():
                fcr[name] = fcr.get(name, 0) + v
        return counts, fcr


def breakdown(g: Grouped) -> list[dict[str, Any]]:
    rows = [{"key": _key(k), **formulas.summary(c), "fcr": fcr_summary(g.fcr.get(k))}
            for k, c in g.counts.items()]
    return sorted(rows, key=lambda r: (-r["contacts"], r["key"]))[:200]


# --- operations x satisfaction -----------------------------------------------------------------


def _counts_by(rows: list[tuple[Any, ...]]) -> dict[Any, Counts]:
    out: dict[Any, Counts] = {}
    for key, kind, n, pos, neg, total, sumsq in rows:
        out.setdefault(key, Counts()).add(kind, int(n), int(pos or 0), int(neg or 0),
                                          float(total or 0), float(sumsq or 0))
    return out


def _value(c: Counts, kind: str) -> kpis.Estimate:
    return getattr(c, kind)()


def lever(rows: dict[str, list[tuple[Any, ...]]], f: Filters, name: str, kind: str | None
          ) -> dict[str, Any]:
    """Satisfaction in each band of one lever; each band is tested against all the others
    (the same tests as the dashboard's period comparison) and flagged when it differs."""
    from feedback.operations.models import AHT_BANDS, TRANSFER_BANDS, WAIT_BANDS

    order = {"aht": [b for _, b in AHT_BANDS], "wait": [b for _, b in WAIT_BANDS],
             "transfers": [b for _, b in TRANSFER_BANDS]}.get(name, ["yes", "no"])
    by_band = {k: v for k, v in _counts_by(rows[name]).items() if k is not None}
    total = Counts()
    for c in by_band.values():
        total.merge(c)
    primary = kind or primary_kind(f, total)
    bands = []
    for label in order:
        c = by_band.get(label, Counts())
        rest = Counts()
        for other, oc in by_band.items():
            if other != label:
                rest.merge(oc)
        change = compare(c, rest)[primary]
        testable = c.get(primary)["n"] >= MIN_BAND_N and rest.get(primary)["n"] >= MIN_BAND_N
        bands.append({"band": label, **c.summary(),
                      "vs_rest": {**change.to_dict(),
                                  "significant": bool(testable and change.significant)}})
    values = [(b["band"], b[primary]["value"]) for b in bands
              if b.get(primary) and b[primary]["n"] >= MIN_BAND_N]
    spread = (max(v for _, v in values) - min(v for _, v in values)) if len(values) > 1 else None
    return {"lever": name, "label": LEVER_LABELS[name], "kpi": primary, "bands": bands,
            "spread": round(spread, 2) if spread is not None else None,
            "significant": any(b["vs_rest"]["significant"] for b in bands),
            "best": max(values, key=lambda v: v[1])[0] if values else None,
            "worst": min(values, key=lambda v: v[1])[0] if values else None}


def satisfaction(rows: dict[str, list[tuple[Any, ...]]], f: Filters) -> dict[str, Any]:
    """`rows`: `repository.satisfaction_rows` of the period."""
    levers = [lever(rows, f, name, None) for name in LEVER_LABELS]
    kind = levers[0]["kpi"]
    # One KPI for the whole ranking, or the effects are not comparable.
    levers = [lv if lv["kpi"] == kind else lever(rows, f, lv["lever"], kind) for lv in levers]
    ranked = sorted((lv for lv in levers if lv["spread"] is not None),
                    key=lambda lv: (not lv["significant"], -lv["spread"]))
    return {"kpi": kind, "levers": levers,
            "ranking": [{"lever": lv["lever"], "label": lv["label"], "spread": lv["spread"],
                         "significant": lv["significant"], "best": lv["best"],
                         "worst": lv["worst"]} for lv in ranked]}


def strongest_effect(session: Session, f: Filters) -> str | None:
    """One line for the weekly digest: the lever that moves satisfaction most, or None."""
    sat = satisfaction(repo.satisfaction_rows(session, f, repo.ops_view(session, f.tz)), f)
    if not sat["ranking"]:
        return None
    top = sat["ranking"][0]
    flag = "significant" if top["significant"] else "not significant yet"
    return (f"{top['label']}: {sat['kpi'].upper()} {top['spread']:.1f} points apart between "
            f"“{top['best']}” and “{top['worst']}” ({flag})")


def scorecard(session: Session, f: Filters, agents: Grouped, overall: QueueCounts,
              rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Speed next to quality for every agent: AHT against the centre's, satisfaction against
    the centre's, FCR and recovery outcomes — the quadrant, never one number."""
    counts, fcr = agents.counts, agents.fcr
    sat = _counts_by(rows["agent"])
    rec = repo.recovery_outcomes(session, f, "agent")
    everyone = Counts()
    for c in sat.values():
        everyone.merge(c)
    kind = primary_kind(f, everyone)
    centre_kpi = _value(everyone, kind).value
    centre_aht = formulas.aht(overall.handle_n, overall.handle_sum, overall.handle_sumsq).value
    rows = []
    for agent, c in counts.items():
        if agent is None:
            continue
        s = sat.get(agent, Counts())
        aht = formulas.aht(c.handle_n, c.handle_sum, c.handle_sumsq)
        est = _value(s, kind)
        speed = None if aht.value is None or centre_aht is None else (
            "fast" if aht.value <= centre_aht else "slow")
        # Every KPI here is "higher is better" (CES is scored 1 = very hard … 7 = very easy).
        quality = None if est.value is None or centre_kpi is None else (
            "high" if est.value >= centre_kpi else "low")
        rows.append({"agent": agent, "contacts": c.contacts, "aht": aht.to_dict(),
                     kind: est.to_dict(), "responses": s.n,
                     "fcr_agent": formulas.fcr(c.resolved_yes, c.resolved_n).to_dict(),
                     "fcr_customer": fcr_summary(fcr.get(agent))["customer"],
                     "recovery": rec.get(agent, {"tasks": 0, "recovered": 0, "not_recovered": 0}),
                     "quadrant": f"{speed} · {quality}" if speed and quality else None})
    rows.sort(key=lambda r: (-r["contacts"], r["agent"]))
    return {"kpi": kind, "centre": {"aht": centre_aht, kind: centre_kpi}, "agents": rows[:200]}


def report(session: Session, f: Filters, now: datetime, *, grain: str, by: str,
           window: timedelta, live: bool = False) -> dict[str, Any]:
    """The whole report. Settled days come from the daily rollups (`rollups`), the rest from
    live rows; `live=True` reads everything live (the reference the rollups are tested on)."""
    view = None if live else repo.ops_view(session, f.tz)
    grouped, agents = Grouped.read(session, f, by, window=window, now=now, view=view)
    overall, fcr = grouped.total()
    sat_rows = repo.satisfaction_rows(session, f, view)
    return {
        "filters": f.to_dict(), "grain": grain, "by": by,
        "repeat_window_days": window.days,
        "kpis": formulas.summary(overall),
        "fcr": fcr_summary(fcr),
        "trend": trend(session, f, grain, view),
        "breakdown": breakdown(grouped),
        "satisfaction": satisfaction(sat_rows, f),
        "scorecard": scorecard(session, f, agents, overall, sat_rows),
    }


# --- flat tables (CSV downloads and the page's data tables) -----------------------------------

KPI_ROWS = ("aht", "asa", "answer_rate", "abandonment", "blocked_share", "fcr_agent",
            "transfer_rate", "first_response")
TABLES = ("kpis", "trend", "breakdown", "satisfaction", "scorecard")


def _est(e: dict[str, Any] | None) -> list[Any]:
    e = e or {}
    return [_round(e.get("value")), _round(e.get("moe")), e.get("n")]


def _round(v: Any) -> Any:
    return round(v, 2) if isinstance(v, float) else v


def table(data: dict[str, Any], name: str) -> tuple[list[str], list[list[Any]]]:
    if name == "kpis":
        k, fcr = data["kpis"], data["fcr"]
        rows = [[kpi, *_est(k[kpi])] for kpi in KPI_ROWS]
        rows += [[f"fcr_{view}", *_est(fcr[view])] for view in ("customer", "inferred")]
        return ["kpi", "value", "moe", "n"], rows
    if name == "trend":
        return (["bucket", "contacts", *(f"{k}{s}" for k in TREND_KPIS for s in ("", "_moe", "_n"))],
                [[t["bucket"], t["contacts"], *(v for k in TREND_KPIS for v in _est(t[k]))]
                 for t in data["trend"]])
    if name == "breakdown":
        cols = ("aht", "asa", "abandonment", "blocked_share", "fcr_agent", "transfer_rate")
        return ([data["by"], "contacts", *(f"{k}{s}" for k in cols for s in ("", "_moe", "_n")),
                 "fcr_customer", "fcr_inferred"],
                [[r["key"], r["contacts"], *(v for k in cols for v in _est(r[k])),
                  _round(r["fcr"]["customer"]["value"]), _round(r["fcr"]["inferred"]["value"])]
                 for r in data["breakdown"]])
    if name == "satisfaction":
        kind = data["satisfaction"]["kpi"]
        return (["lever", "band", kind, f"{kind}_moe", f"{kind}_n", "delta_vs_rest", "p_value",
                 "significant"],
                [[lv["lever"], b["band"], *_est(b.get(kind)), _round(b["vs_rest"]["delta"]),
                  _round(b["vs_rest"]["p_value"]), b["vs_rest"]["significant"]]
                 for lv in data["satisfaction"]["levers"] for b in lv["bands"]])
    sc = data["scorecard"]
    kind = sc["kpi"]
    return (["agent", "contacts", "aht", "aht_moe", "aht_n", kind, f"{kind}_moe", f"{kind}_n",
             "fcr_agent", "fcr_customer", "recovery_tasks", "recovered", "quadrant"],
            [[r["agent"], r["contacts"], *_est(r["aht"]), *_est(r[kind]),
              _round(r["fcr_agent"]["value"]), _round(r["fcr_customer"]["value"]),
              r["recovery"]["tasks"], r["recovery"]["recovered"], r["quadrant"]]
             for r in sc["agents"]])
