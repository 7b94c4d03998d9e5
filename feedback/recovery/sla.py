"""Due-time arithmetic: windows per priority, optionally counted in business hours.

All arithmetic is done on UTC instants. The business calendar is read in its own time zone:
each open interval ("09:00-17:00" on a Monday) is turned into two aware instants and only
then compared or subtracted — Python subtracts two datetimes sharing one tzinfo by wall clock,
which is wrong across a DST change, so nothing here ever does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# A window longer than this many days without a single open hour means a broken calendar.
_MAX_DAYS = 3 * 366

Intervals = tuple[tuple[time, time | None], ...]  # close None = midnight (24:00)


def _days(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in DAYS or b not in DAYS:
                raise ValueError(f"recovery_business_hours: unknown day range {part!r}")
            i, j = DAYS.index(a), DAYS.index(b)
            out.extend((i + k) % 7 for k in range((j - i) % 7 + 1))  # fri-mon wraps
        elif part in DAYS:
            out.append(DAYS.index(part))
        else:
            raise ValueError(f"recovery_business_hours: unknown day {part!r} (use mon … sun)")
    return out


def _spans(spec: str, key: str) -> Intervals:
    if spec.strip().lower() in ("closed", ""):
        return ()
    spans: list[tuple[time, time | None]] = []
    for part in spec.split(","):
        m = _SPAN.match(part)
        if not m:
            raise ValueError(f"recovery_business_hours[{key}]: {part.strip()!r} is not like 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise ValueError(f"recovery_business_hours[{key}]: {part.strip()!r} is not a valid time")
        start, end = time(h1, m1), (None if h2 == 24 else time(h2, m2))
        if end is not None and end <= start:
            raise ValueError(f"recovery_business_hours[{key}]: {part.strip()!r} ends before it starts")
        spans.append((start, end))
    return tuple(sorted(spans, key=lambda s: s[0]))


def parse_business_hours(spec: dict[str, str]) -> dict[int, Intervals]:
    """{"mon-fri": "09:00-17:00", "sat": "10:00-13:00"} → weekday → open intervals."""
    hours: dict[int, Intervals] = {}
    for key, value in (spec or {}).items():
        spans = _spans(str(value), key)
        for day in _days(key):
            hours[day] = spans
    if spec and not any(hours.values()):
        raise ValueError("recovery_business_hours: every day is closed")
    return hours


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    hours: dict[int, Intervals] = field(default_factory=dict)  # empty: open around the clock
    holidays: frozenset[date] = frozenset()

    def _open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        out = []
        for start, end in self.hours.get(day.weekday(), ()):
            o = datetime.combine(day, start, tzinfo=self.tz).astimezone(UTC)
            c_local = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
                       if end is None else datetime.combine(day, end, tzinfo=self.tz))
            out.append((o, c_local.astimezone(UTC)))
        return out

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of open time has passed since `start`."""
        start = start.astimezone(UTC)
        if duration <= timedelta(0) or not self.hours:
            return start + max(duration, timedelta(0))
        remaining = duration
        day = start.astimezone(self.tz).date()
        for _ in range(_MAX_DAYS):
            for opens, closes in self._open_intervals(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("the business calendar has no open hours in the next three years")

    def open_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time elapsed from `start` to `end` (for reports on business-hours SLAs)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        if not self.hours:
            return end - start
        total, day = timedelta(0), start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            for opens, closes in self._open_intervals(day):
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def calendar_from_settings(settings: Any) -> Calendar:
    name = settings.recovery_time_zone or settings.default_time_zone or "UTC"
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"recovery_time_zone: unknown time zone {name!r}") from exc
    return Calendar(tz=tz, hours=parse_business_hours(settings.recovery_business_hours),
                    holidays=frozenset(date.fromisoformat(d) for d in settings.recovery_holidays))


def windows(settings: Any, priority: str) -> tuple[timedelta, timedelta]:
    """(first contact, resolution) windows for a priority."""
    override = (settings.recovery_priority_windows or {}).get(priority, {})
    first = float(override.get("first_contact_hours", settings.recovery_first_contact_hours))
    resolution = float(override.get("resolution_hours", settings.recovery_resolution_hours))
    return timedelta(hours=first), timedelta(hours=max(resolution, first))


@dataclass(frozen=True)
class Deadlines:
    first_contact_due_at: datetime
    resolution_due_at: datetime
    first_contact_warn_at: datetime
    resolution_warn_at: datetime


def deadlines(settings: Any, start: datetime, priority: str,
              calendar: Calendar | None = None,
              spans: tuple[timedelta, timedelta] | None = None) -> Deadlines:
    """`calendar` and `spans` (first contact, resolution) come from the policies when given:
    they may differ per team, which the settings cannot say."""
    cal = calendar or calendar_from_settings(settings)
    first, resolution = spans or windows(settings, priority)
    fraction = min(max(settings.recovery_warn_fraction, 0.0), 1.0)
    return Deadlines(
        first_contact_due_at=cal.add(start, first),
        resolution_due_at=cal.add(start, resolution),
        first_contact_warn_at=cal.add(start, first * fraction),
        resolution_warn_at=cal.add(start, resolution * fraction),
    )


def describe_remaining(due: datetime | None, now: datetime) -> str:
    """"in 3 h 20 min" / "overdue by 1 d 2 h" — the server-side text queue.js keeps fresh."""
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    text = _span(abs(seconds))
    return f"overdue by {text}" if seconds < 0 else f"in {text}"


def _span(seconds: int) -> str:
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    return f"{m} min"
