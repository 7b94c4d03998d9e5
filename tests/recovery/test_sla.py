"""Due-time arithmetic: 24/7 windows, business hours across weekends, holidays and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from feedback.recovery.sla import Calendar, deadlines, describe_remaining, parse_business_hours
from feedback.settings import Settings

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
WEEKDAYS = parse_business_hours({"mon-fri": "09:00-17:00"})


def local(tz, *args):  # type: ignore[no-untyped-def]
    return datetime(*args, tzinfo=tz)


def test_around_the_clock_windows_are_real_elapsed_hours_even_across_dst():
    cal = Calendar(tz=NEW_YORK)
    start = local(NEW_YORK, 2026, 3, 7, 12)  # Saturday, the night before clocks go forward
    due = cal.add(start, timedelta(hours=24))
    assert due - start == timedelta(hours=24)
    assert due.astimezone(NEW_YORK).hour == 13  # wall clock moved by an hour


def test_business_hours_skip_the_weekend():
    cal = Calendar(tz=LONDON, hours=WEEKDAYS)
    friday_4pm = local(LONDON, 2026, 1, 16, 16)
    assert cal.add(friday_4pm, timedelta(hours=1)) == local(LONDON, 2026, 1, 16, 17).astimezone(UTC)
    # 1 h on Friday + 8 + 8 on Monday/Tuesday + 7 on Wednesday.
    assert cal.add(friday_4pm, timedelta(hours=24)) == local(LONDON, 2026, 1, 21, 16).astimezone(UTC)
    # 48 h: Friday 1 h + five 8 h days + 7 h on the Monday after.
    assert cal.add(friday_4pm, timedelta(hours=48)) == local(LONDON, 2026, 1, 26, 16).astimezone(UTC)
    # Starting on a Saturday counts from Monday's opening.
    saturday = local(LONDON, 2026, 1, 17, 10)
    assert cal.add(saturday, timedelta(hours=2)) == local(LONDON, 2026, 1, 19, 11).astimezone(UTC)


def test_business_hours_across_the_spring_dst_change():
    cal = Calendar(tz=NEW_YORK, hours=WEEKDAYS)
    friday_3pm_est = local(NEW_YORK, 2026, 3, 6, 15)  # 20:00 UTC; clocks go forward on Sunday
    due = cal.add(friday_3pm_est, timedelta(hours=24))
    # Fri 2 h + Mon 8 h + Tue 8 h + 6 h on Wednesday = 15:00 EDT = 19:00 UTC (not 20:00).
    assert due == datetime(2026, 3, 11, 19, 0, tzinfo=UTC)
    assert due.astimezone(NEW_YORK).hour == 15
    assert cal.open_time_between(friday_3pm_est, due) == timedelta(hours=24)


def test_open_every_hour_counts_the_long_autumn_day():
    cal = Calendar(tz=NEW_YORK, hours=parse_business_hours({"mon-sun": "00:00-24:00"}))
    sunday = local(NEW_YORK, 2026, 11, 1, 0)  # 25 hours long
    assert cal.open_time_between(sunday, local(NEW_YORK, 2026, 11, 2, 0)) == timedelta(hours=25)
    assert cal.add(sunday, timedelta(hours=24)) == datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # 23:00 EST


def test_holidays_and_split_days_are_skipped():
    cal = Calendar(tz=LONDON, hours=parse_business_hours(
        {"mon-thu": "09:00-12:00, 13:00-17:00", "fri": "09:00-13:00", "sat,sun": "closed"}),
        holidays=frozenset({datetime(2026, 12, 25).date()}))
    thursday = local(LONDON, 2026, 12, 24, 11)  # 11:00 on the 24th; the 25th is a holiday
    # Thu 1 h (11-12) + 4 h (13-17) = 5 h; then Monday the 28th from 09:00.
    assert cal.add(thursday, timedelta(hours=7)) == local(LONDON, 2026, 12, 28, 11).astimezone(UTC)


def test_deadlines_use_priority_windows_and_warn_at_eighty_percent():
    settings = Settings(recovery_business_hours={"mon-fri": "09:00-17:00"},
                        recovery_time_zone="Europe/London")
    start = local(LONDON, 2026, 1, 16, 16)
    d = deadlines(settings, start, "normal")
    assert d.first_contact_due_at == local(LONDON, 2026, 1, 21, 16).astimezone(UTC)
    # 19.2 business hours: Fri 1 + Mon 8 + Tue 8 + 2.2 h on Wednesday.
    assert d.first_contact_warn_at == local(LONDON, 2026, 1, 21, 11, 12).astimezone(UTC)
    urgent = deadlines(Settings(), start, "urgent")
    assert urgent.first_contact_due_at - start == timedelta(hours=4)
    assert urgent.resolution_due_at - start == timedelta(hours=24)


@pytest.mark.parametrize("hours", [
    {"mon-fri": "9-17"}, {"funday": "09:00-17:00"}, {"mon": "17:00-09:00"}, {"mon": "09:00-25:00"},
    {"mon-sun": "closed"},
])
def test_bad_business_hours_are_refused_with_the_entry_named(hours):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="recovery_business_hours"):
        Settings(recovery_business_hours=hours)


def test_bad_holiday_is_refused():
    with pytest.raises(ValidationError, match="2026-13-01"):
        Settings(recovery_holidays=["2026-13-01"])


def test_remaining_time_text():
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert describe_remaining(now + timedelta(hours=3, minutes=20), now) == "in 3 h 20 min"
    assert describe_remaining(now - timedelta(days=1, hours=2), now) == "overdue by 1 d 2 h"
    assert describe_remaining(now + timedelta(minutes=5), now) == "in 5 min"


def test_task_due_times_follow_business_hours_end_to_end(session, answer, settings, clock):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from feedback.recovery.models import RecoveryTask

    settings.recovery_business_hours = {"mon-fri": "09:00-17:00"}
    settings.recovery_time_zone = "America/New_York"
    clock.now = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)  # Friday 15:00 EST
    answer(score=2)
    task = session.exec(select(RecoveryTask)).one()
    assert task.opened_at == clock.now
    assert task.first_contact_due_at == datetime(2026, 3, 11, 19, 0, tzinfo=UTC)
    assert task.next_due_at == task.first_contact_due_at
    assert task.sla_next_at == task.first_contact_warn_at < task.first_contact_due_at
