"""What a report asks for (`Filters`) and the counts it adds up (`Counts`).

Dates in reports are calendar days in the report time zone (`settings.report_time_zone`,
falling back to `default_time_zone`): a CX lead in Shanghai asking for "March" means Shanghai's
March, and the weekday x hour heatmap means local hours. A period is therefore a pair of local
dates, turned into UTC instants (local midnights) only when rows are compared with
`submitted_at`. Everything downstream (the rollups, /api/kpis, the CSV exports) uses these two
classes, so the same filters always give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from surveys import kpis
from surveys.errors import ValidationFailed
from surveys.scoring import SurveyKind

DIMENSIONS = ("team", "agent", "channel", "queue")
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2999, 12, 31)
MAX_DAYS = 3 * 366  # a longer range is almost certainly a typo (2062 for 2026)


def report_zone(settings: Any) -> ZoneInfo:
    name = getattr(settings, "report_time_zone", None) or getattr(
        settings, "default_time_zone", "UTC")
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"report_time_zone {name!r} is not a known time zone",
                               field="report_time_zone") from exc


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `tz`."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def offset_segments(start: date, end: date, tz: ZoneInfo) -> list[tuple[datetime, datetime, int]]:
    """Split local days [start, end) into UTC ranges with one UTC offset each.

    SQL then computes a local date or hour as `utc + offset` with a constant offset per
    range, the same way on SQLite (no time-zone database) and PostgreSQL. A range boundary
    falls exactly on each daylight-saving change, so no row is shifted by the wrong offset.
    """
    if start >= end:
        return []
    out: list[tuple[datetime, datetime, int]] = []
    seg_start = local_midnight(start, tz)
    final = local_midnight(end, tz)
    offset = _offset(seg_start, tz)
    day = start
    while day < end:
        nxt = local_midnight(day + timedelta(days=1), tz)
        if _offset(nxt - timedelta(microseconds=1), tz) != offset:
            change = _transition(local_midnight(day, tz), nxt, tz, offset)
            out.append((seg_start, change, offset))
            seg_start, offset = change, _offset(change, tz)
        day += timedelta(days=1)
    out.append((seg_start, final, offset))
    return [s for s in out if s[0] < s[1]]


def _offset(instant: datetime, tz: ZoneInfo) -> int:
    delta = instant.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _transition(lo: datetime, hi: datetime, tz: ZoneInfo, before: int) -> datetime:
    """First instant in (lo, hi] whose offset differs from `before` (to the second)."""
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if _offset(mid, tz) == before:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class Filters:
    """A period of local calendar days (both inclusive) plus optional dimension filters."""

    start_day: date
    end_day: date
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    kind: str | None = None
    team: str | None = None
    channel: str | None = None
    agent: str | None = None
    queue: str | None = None

    @property
    def start(self) -> datetime:
        return local_midnight(self.start_day, self.tz)

    @property
    def end(self) -> datetime:  # exclusive
        return local_midnight(self.end_day + timedelta(days=1), self.tz)

    @property
    def days(self) -> int:
        return (self.end_day - self.start_day).days + 1

    def previous(self) -> Filters:
        """The period of equal length that ends the day before this one starts."""
        return replace(self, start_day=self.start_day - timedelta(days=self.days),
                       end_day=self.start_day - timedelta(days=1))

    def dims(self) -> dict[str, str]:
        """The dimension filters that are set, including the survey kind."""
        out = {name: getattr(self, name) for name in ("kind", *DIMENSIONS)}
        return {k: v for k, v in out.items() if v}

    def where(self, columns: Any, at: Any = None) -> list[Any]:
        """WHERE clauses on a table with these dimension columns (and `at` for the period)."""
        clauses = [columns[k] == v for k, v in self.dims().items()]
        if at is not None:
            clauses += [at >= self.start, at < self.end]
        return clauses

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start_day.isoformat(), "to": self.end_day.isoformat(),
                "kind": self.kind, "team": self.team, "channel": self.channel,
                "agent": self.agent, "queue": self.queue}

    def query(self, **extra: Any) -> dict[str, str]:
        """Query-string parameters that reproduce these filters (for links and CSV URLs)."""
        out = {k: v for k, v in self.to_dict().items() if v}
        out.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
        return out


def _parse_date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a date like 2026-01-31", field=name) from exc
    # Bounded so that the day after, the week's start and the zone's offsets stay in range
    # (9999-12-31 + 1 day overflows).
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise ValidationFailed(f"{name} must be between {EARLIEST_DATE} and {LATEST_DATE}",
                               field=name)
    return parsed


def make_filters(now: datetime, frm: str | None = None, to: str | None = None,
                 kind: str | None = None, tz: ZoneInfo | None = None,
                 **dims: str | None) -> Filters:
    """`from` and `to` are inclusive calendar dates in `tz`; the default is the last 30 days."""
    tz = tz or ZoneInfo("UTC")
    end_d = _parse_date(to, "to") or local_date(now, tz)
    start_d = _parse_date(frm, "from") or end_d - timedelta(days=29)
    if start_d > end_d:
        raise ValidationFailed("from must not be after to", field="from")
    if (end_d - start_d).days >= MAX_DAYS:
        raise ValidationFailed(f"the period may span at most {MAX_DAYS} days", field="from")
    if kind and kind not in {k.value for k in SurveyKind}:
        raise ValidationFailed("kind must be one of csat, nps, ces", field="kind")
    for name in dims:
        if name not in DIMENSIONS:
            raise TypeError(f"unknown filter {name!r}")
    clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in dims.items()}
    return Filters(start_d, end_d, tz, kind=kind or None, **clean)


@dataclass
class Counts:
    """Sufficient statistics per survey kind; `summary()` turns them into KPI estimates."""

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

    def merge(self, other: Counts) -> None:
        for kind, k in other.by_kind.items():
            self.add(kind, int(k["n"]), int(k["pos"]), int(k["neg"]), k["sum"], k["sumsq"])

    def get(self, kind: str) -> dict[str, float]:
        return self.by_kind.get(kind) or {"n": 0, "pos": 0, "neg": 0, "sum": 0.0, "sumsq": 0.0}

    def nps_counts(self) -> kpis.NpsCounts:
        k = self.get("nps")
        return kpis.NpsCounts(int(k["pos"]), int(k["n"] - k["pos"] - k["neg"]), int(k["neg"]))

    def nps(self) -> kpis.Estimate:
        return kpis.nps(*self.nps_counts())

    def csat(self) -> kpis.Estimate:
        k = self.get("csat")
        return kpis.csat(int(k["pos"]), int(k["n"]))

    def ces(self) -> kpis.Estimate:
        k = self.get("ces")
        return kpis.ces(int(k["n"]), k["sum"], k["sumsq"])

    def ces_easy(self) -> kpis.Estimate:
        k = self.get("ces")
        return kpis.ces_easy(int(k["pos"]), int(k["n"]))

    @property
    def negatives(self) -> int:
        return sum(int(v["neg"]) for v in self.by_kind.values())

    def negative_share(self) -> float | None:
        return round(100.0 * self.negatives / self.n, 2) if self.n else None

    def summary(self) -> dict[str, Any]:
        """The JSON of /api/kpis: a KPI only appears when its kind has responses."""
        out: dict[str, Any] = {"responses": self.n}
        if self.by_kind.get("nps"):
            c = self.nps_counts()
            out["nps"] = self.nps().to_dict()
            out["nps_counts"] = {"promoters": c.promoters, "detractors": c.detractors,
                                 "passives": c.passives}
        if self.by_kind.get("csat"):
            out["csat"] = self.csat().to_dict()
        if self.by_kind.get("ces"):
            out["ces"] = self.ces().to_dict()
            out["ces_easy"] = self.ces_easy().to_dict()
        out["negative_share"] = self.negative_share()
        return out


def compare(cur: Counts, prev: Counts) -> dict[str, kpis.Change]:
    """Change of each KPI versus the previous period, with its significance test."""
    c_csat, p_csat = cur.get("csat"), prev.get("csat")
    c_ces, p_ces = cur.get("ces"), prev.get("ces")
    return {
        "nps": kpis.compare_nps(cur.nps_counts(), prev.nps_counts()),
        "csat": kpis.compare_proportion((int(c_csat["pos"]), int(c_csat["n"])),
                                        (int(p_csat["pos"]), int(p_csat["n"]))),
        "ces": kpis.compare_mean((int(c_ces["n"]), c_ces["sum"], c_ces["sumsq"]),
                                 (int(p_ces["n"]), p_ces["sum"], p_ces["sumsq"])),
    }


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def bucket_of(day: date, grain: str) -> date:
    if grain == "week":
        return week_start(day)
    if grain == "month":
        return day.replace(day=1)
    return day
