"""The speed-versus-quality alert: a team whose handle time fell over the last 7 days while
its satisfaction or first-contact resolution fell significantly is probably rushing customers.

Compared: the last 7 complete local days against the 7 before, per team, with the dashboard's
tests (`surveys.kpis`). Each alert is one outbox row per lead, idempotent per (team, week,
lead) through the dedupe key, so the hourly job may run on any number of workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from feedback.notifications.outbox import enqueue_many, notification
from feedback.operations import repository as repo
from feedback.operations.formulas import QueueCounts
from feedback.recovery.alerts import active_leads
from feedback.reports.figures import Counts, Filters, compare, local_date, report_zone
from surveys import kpis

KPI_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


def week_filters(now: datetime, settings: Any) -> Filters:
    tz = report_zone(settings)
    yesterday = local_date(now, tz) - timedelta(days=1)
    return Filters(yesterday - timedelta(days=6), yesterday, tz)


def findings(session: Session, cur: Filters) -> list[dict[str, Any]]:
    """Teams whose AHT dropped while a satisfaction KPI or agent-reported FCR dropped
    significantly, with the figures that say so."""
    prev = cur.previous()
    q_cur, q_prev = repo.queue_counts(session, cur, "team"), repo.queue_counts(session, prev, "team")
    s_cur = _sat(session, cur)
    s_prev = _sat(session, prev)
    out = []
    for team, c in q_cur.items():
        p = q_prev.get(team)
        if team is None or p is None:
            continue
        aht = kpis.compare_mean((c.handle_n, c.handle_sum, c.handle_sumsq),
                                (p.handle_n, p.handle_sum, p.handle_sumsq))
        if aht.delta is None or aht.delta >= 0:
            continue
        drops = _quality_drops(c, p, s_cur.get(team, Counts()), s_prev.get(team, Counts()))
        if drops:
            out.append({"team": team, "aht_delta_seconds": round(aht.delta, 1),
                        "aht_significant": aht.significant, "drops": drops})
    return out


def _sat(session: Session, f: Filters) -> dict[Any, Counts]:
    out: dict[Any, Counts] = {}
    for team, kind, n, pos, neg, total, sumsq in repo.satisfaction_by(session, f, repo.ITX.c.team):
        out.setdefault(team, Counts()).add(kind, int(n), int(pos or 0), int(neg or 0),
                                           float(total or 0), float(sumsq or 0))
    return out


def _quality_drops(c: QueueCounts, p: QueueCounts, sc: Counts, sp: Counts) -> list[dict[str, Any]]:
    drops = []
    for kpi, change in compare(sc, sp).items():
        if change.significant and change.delta is not None and change.delta < 0:
            drops.append({"kpi": kpi, "delta": round(change.delta, 2), "p_value": change.p_value})
    fcr = kpis.compare_proportion((c.resolved_yes, c.resolved_n), (p.resolved_yes, p.resolved_n))
    if fcr.significant and fcr.delta is not None and fcr.delta < 0:
        drops.append({"kpi": "fcr", "delta": round(fcr.delta, 2), "p_value": fcr.p_value})
    return drops


def speed_vs_quality(session: Session, *, now: datetime, settings: Any) -> int:
    """Queue the alerts that are due; returns how many outbox rows were new."""
    cur = week_filters(now, settings)
    found = findings(session, cur)
    if not found:
        return 0
    leads = active_leads(session)
    rows = []
    for f in found:
        what = ", ".join(f"{KPI_NAMES.get(d['kpi'], 'FCR')} {d['delta']:+.1f}" for d in f["drops"])
        subject = f"{f['team']}: handle time down, quality down ({what})"
        body = (f"In {cur.start_day} – {cur.end_day} team {f['team']} spent "
                f"{-f['aht_delta_seconds']:.0f} s less per contact than the week before, while "
                f"{what} (each significant, p < 0.05). Faster is not better if customers come "
                f"back unhappy: see {settings.public_url}/reports/operations?team={f['team']}")
        own = [u for u in leads if u.team == f["team"]] or leads
        rows += [notification(kind="email", target=u.email, now=now, subject=subject, body=body,
                              payload=f, dedupe_key=f"ops-speed-quality:{f['team']}:"
                                                    f"{cur.start_day}:{u.email}")
                 for u in own]
    return enqueue_many(session, rows)
