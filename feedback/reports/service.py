"""Report figures as plain, JSON-ready dicts: the API returns them, the pages chart them, the
CSV exports flatten them and the digest quotes them — one computation for all four.

KPI maths (estimates, margins of error, significance of change) is `surveys.kpis`; counting is
`repository` (rollups + live rows). This module only groups, compares and names things.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from feedback.reports import loop_source
from feedback.reports import repository as repo
from feedback.reports.figures import (
    Counts,
    Filters,
    bucket_of,
    compare,
    make_filters,
    report_zone,
)
from surveys import kpis
from surveys.errors import ValidationFailed

GRAINS = ("day", "week", "month")
BREAKDOWNS = ("team", "agent", "channel", "queue", "kind")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NONE_KEY = "(none)"
KPI_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "response_rate": "Response rate",
              "open_tasks": "Open recovery tasks",
              "sla_first_contact": "First contact within SLA",
              "sla_resolution": "Resolved within SLA"}


@dataclass(frozen=True)
class Query:
    """A report request: the filters, and the rollup boundary read once per request."""

    filters: Filters
    view: repo.RollupView


def build_query(session: Session, settings: Any, now: datetime, *, frm: str | None = None,
                to: str | None = None, kind: str | None = None, team: str | None = None,
                channel: str | None = None, agent: str | None = None, queue: str | None = None,
                live: bool = False) -> Query:
    tz = report_zone(settings)
    f = make_filters(now, frm, to, kind, tz, team=team, channel=channel, agent=agent,
                     queue=queue)
    return Query(f, repo.RollupView.live() if live else repo.rollup_view(session, tz))


def parse_choice(value: str | None, allowed: tuple[str, ...], name: str,
                  default: str) -> str:
    if not value:
        return default
    if value not in allowed:
        raise ValidationFailed(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


def auto_grain(f: Filters) -> str:
    """Buckets big enough to hold a readable figure: a daily NPS over a month swings on a
    handful of answers and its interval band covers the chart."""
    return "day" if f.days <= 14 else "week" if f.days <= 120 else "month"


def grain_of(value: str | None, f: Filters) -> str:
    return parse_choice(value, GRAINS, "grain", auto_grain(f))


def breakdown_of(value: str | None) -> str:
    return parse_choice(value, BREAKDOWNS, "by", "team")


# --- counting ----------------------------------------------------------------------------------


def _counts(rows: list[tuple[Any, ...]], width: int) -> dict[tuple[Any, ...], Counts]:
    """Group rows (*key, kind, n, pos, neg, sum, sumsq) into Counts per key."""
    out: dict[tuple[Any, ...], Counts] = {}
    for row in rows:
        key, (kind, n, pos, neg, total, sumsq) = tuple(row[:width]), row[width:]
        out.setdefault(key, Counts()).add(kind, int(n), int(pos), int(neg), float(total),
                                          float(sumsq))
    return out


def daily(session: Session, q: Query, *, previous: bool = True) -> dict[date, Counts]:
    """Counts per local day of the period (and of the previous period of equal length)."""
    f = q.filters
    span = Filters(f.previous().start_day if previous else f.start_day, f.end_day, f.tz,
                   **{k: getattr(f, k) for k in ("kind", "team", "channel", "agent", "queue")})
    rows = repo.response_rows(session, span, ["day"], q.view)
    return {key[0]: c for key, c in _counts(rows, 1).items()}


def split_periods(days: dict[date, Counts], f: Filters) -> tuple[Counts, Counts]:
    cur, prev = Counts(), Counts()
    for d, c in days.items():
        (cur if d >= f.start_day else prev).merge(c)
    return cur, prev


def total(session: Session, f: Filters, view: repo.RollupView) -> Counts:
    """All responses matching `f` (what /api/kpis calls "overall")."""
    out = Counts()
    for c in _counts(repo.response_rows(session, f, [], view), 0).values():
        out.merge(c)
    return out


def response_rate(session: Session, f: Filters, view: repo.RollupView) -> dict[str, Any]:
    rows = repo.invitation_rows(session, f, [], view)
    sent, answered = (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
    return {"sent": sent, "answered": answered, **kpis.response_rate(answered, sent).to_dict()}


# --- dashboard pieces --------------------------------------------------------------------------


def _estimate_tile(key: str, est: kpis.Estimate, prev: kpis.Estimate,
                   change: kpis.Change, unit: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "label": KPI_LABELS[key], "unit": unit, **est.to_dict(),
            "previous": prev.value, "delta": change.delta, "p_value": change.p_value,
            "significant": change.significant, **extra}


def tiles(session: Session, q: Query, days: dict[date, Counts], now: datetime) -> list[dict[str, Any]]:
    """The seven headline KPIs, each with its margin of error and change vs the previous period."""
    f = q.filters
    cur, prev = split_periods(days, f)
    changes = compare(cur, prev)
    rate, rate_prev = response_rate(session, f, q.view), response_rate(session, f.previous(), q.view)
    rate_change = kpis.compare_proportion((rate["answered"], rate["sent"]),
                                          (rate_prev["answered"], rate_prev["sent"]))
    out = [
        _estimate_tile("nps", cur.nps(), prev.nps(), changes["nps"], "points",
                       better="up", counts=cur.nps_counts()._asdict()),
        _estimate_tile("csat", cur.csat(), prev.csat(), changes["csat"], "%", better="up"),
        _estimate_tile("ces", cur.ces(), prev.ces(), changes["ces"], "of 7", better="up"),
        _estimate_tile("response_rate", kpis.response_rate(rate["answered"], rate["sent"]),
                       kpis.response_rate(rate_prev["answered"], rate_prev["sent"]),
                       rate_change, "%", better="up", sent=rate["sent"],
                       answered=rate["answered"]),
    ]
    out.extend(loop_tiles(session, f, now))
    return out


def loop_tiles(session: Session, f: Filters, now: datetime) -> list[dict[str, Any]]:
    loop = loop_source.headline(session, f, now)
    empty = {"value": None, "moe": None, "low": None, "high": None, "n": 0, "previous": None,
             "delta": None, "p_value": None, "significant": False}
    open_tile = {**empty, "key": "open_tasks", "label": KPI_LABELS["open_tasks"], "unit": "tasks",
                 "value": loop["open"], "n": loop["open"], "overdue": loop["overdue"],
                 "better": "down"}
    tiles = [open_tile]
    for key in ("sla_first_contact", "sla_resolution"):
        (met, due), (p_met, p_due) = loop[key], loop[f"previous_{key}"]
        tiles.append(_estimate_tile(key, kpis.proportion(met, due), kpis.proportion(p_met, p_due),
                                    kpis.compare_proportion((met, due), (p_met, p_due)), "%",
                                    better="up"))
    return tiles


def trend(days: dict[date, Counts], f: Filters, grain: str) -> list[dict[str, Any]]:
    """One point per day/week/month bucket of the period (buckets without data included)."""
    buckets: dict[date, Counts] = {}
    d = f.start_day
    while d <= f.end_day:
        buckets.setdefault(bucket_of(d, grain), Counts())
        d += timedelta(days=1)
    for day, c in days.items():
        if f.start_day <= day <= f.end_day:
            buckets[bucket_of(day, grain)].merge(c)
    return [{"bucket": b.isoformat(), **c.summary()} for b, c in sorted(buckets.items())]


def _key(value: Any) -> str:
    return NONE_KEY if value in (None, "") else str(value)


def _grouped(session: Session, f: Filters, by: str, view: repo.RollupView) -> dict[tuple[Any, ...], Counts]:
    rows = repo.response_rows(session, f, [by], view)
    if by == "kind":  # the kind is then both the group key and the kind of the measures
        rows = [(row[0], *row) for row in rows]
    return _counts(rows, 1)


def breakdown(session: Session, q: Query, by: str) -> list[dict[str, Any]]:
    """KPIs per team/agent/channel/queue/kind, with the change vs the previous period."""
    f = q.filters
    cur, prev = _grouped(session, f, by, q.view), _grouped(session, f.previous(), by, q.view)
    rates: dict[tuple[Any, ...], tuple[int, int]] = {}
    if by != "agent":  # the invitation rollup has no agent; per-agent rates would read live rows
        rates = {tuple(r[:1]): (int(r[1]), int(r[2]))
                 for r in repo.invitation_rows(session, f, [by], q.view)}
    out = []
    for key in sorted(set(cur) | set(rates), key=lambda k: _key(k[0]).casefold()):
        c, p = cur.get(key, Counts()), prev.get(key, Counts())
        sent, answered = rates.get(key, (0, 0))
        row = {"key": _key(key[0]), **c.summary(), "previous_responses": p.n,
               "change": {k: v.to_dict() for k, v in compare(c, p).items()}}
        if by != "agent":
            row["response_rate"] = {"sent": sent, "answered": answered,
                                    **kpis.response_rate(answered, sent).to_dict()}
        out.append(row)
    return out


HOUR_BLOCKS = (1, 2, 3, 4, 6, 12)


def heatmap(session: Session, q: Query) -> dict[str, Any]:
    """Share of negative answers (NPS detractors, CSAT dissatisfied, CES difficult) by local
    weekday x hour; cells with fewer than `min_n` answers are left blank, not coloured.

    `n`, `negative` and `share` are hourly (the API and the CSV). A month of a small programme
    leaves most of 168 hourly cells under `min_n`, so the chart reads `block_share`: the hours
    grouped into the narrowest blocks (1, 2, 3, 4, 6 or 12 h) in which most answered cells
    reach `min_n` — coarser, but something to read."""
    min_n = 5
    n = [[0] * 24 for _ in range(7)]
    neg = [[0] * 24 for _ in range(7)]
    for weekday, hour, count, negative in repo.hourly_rows(session, q.filters, q.view):
        n[int(weekday) - 1][int(hour)] += int(count)
        neg[int(weekday) - 1][int(hour)] += int(negative)
    share = [[round(100.0 * neg[r][c] / n[r][c], 1) if n[r][c] >= min_n else None
              for c in range(24)] for r in range(7)]
    width = _block_width(n, min_n)
    starts = range(0, 24, width)
    bn = [[sum(n[r][h:h + width]) for h in starts] for r in range(7)]
    bneg = [[sum(neg[r][h:h + width]) for h in starts] for r in range(7)]
    return {"rows": list(WEEKDAYS), "cols": [f"{h:02d}" for h in range(24)], "share": share,
            "n": n, "negative": neg, "min_n": min_n, "time_zone": q.filters.tz.key,
            "hours_per_cell": width,
            "block_cols": [f"{h:02d}" if width == 1 else f"{h:02d}–{h + width:02d}"
                           for h in starts],
            "block_n": bn,
            "block_share": [[round(100.0 * bneg[r][c] / bn[r][c], 1) if bn[r][c] >= min_n
                             else None for c in range(len(starts))] for r in range(7)]}


def _block_width(n: list[list[int]], min_n: int) -> int:
    for width in HOUR_BLOCKS:
        cells = [sum(row[h:h + width]) for row in n for h in range(0, 24, width)]
        answered = [c for c in cells if c]
        if not answered or sum(c >= min_n for c in answered) >= 0.6 * len(answered):
            return width
    return HOUR_BLOCKS[-1]


def primary_kind(f: Filters, cur: Counts) -> str:
    """The KPI a chart or ranking leads with: the filtered kind, else NPS, else the busiest."""
    if f.kind:
        return f.kind
    if cur.by_kind.get("nps"):
        return "nps"
    return max(cur.by_kind, key=lambda k: cur.by_kind[k]["n"], default="nps")


def dashboard(session: Session, q: Query, now: datetime, *, grain: str,
              by: str) -> dict[str, Any]:
    days = daily(session, q)
    cur, _ = split_periods(days, q.filters)
    return {
        "filters": q.filters.to_dict(),
        "previous": {"from": q.filters.previous().start_day.isoformat(),
                     "to": q.filters.previous().end_day.isoformat()},
        "time_zone": q.filters.tz.key,
        "primary": primary_kind(q.filters, cur),
        "responses": cur.n,
        "tiles": tiles(session, q, days, now),
        "grain": grain,
        "trend": trend(days, q.filters, grain),
        "by": by,
        "breakdown": breakdown(session, q, by),
        "heatmap": heatmap(session, q),
        "unhappy": loop_source.unhappy_accounting(session, q.filters),
    }


def movers(session: Session, q: Query, by: str, limit: int = 3) -> list[dict[str, Any]]:
    """Groups whose primary KPI changed significantly, biggest change first (the digest)."""
    rows = breakdown(session, q, by)
    kind = q.filters.kind or "nps"
    found = [{"key": r["key"], "kind": kind, "value": (r.get(kind) or {}).get("value"),
              "delta": r["change"][kind]["delta"], "n": r["responses"]}
             for r in rows if r["change"][kind]["significant"]]
    return sorted(found, key=lambda m: -abs(m["delta"] or 0))[:limit]
