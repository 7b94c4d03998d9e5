"""The operations report reads daily rollups for settled days and live rows for the rest; both
paths give the same report — for every breakdown and filter the rollups hold or not, across a
daylight-saving change, after a late import, after an interaction is sent again with another
time, and when the job runs again (both engines)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from feedback.ingest.schemas import InteractionIn
from feedback.ingest.service import ingest_one
from feedback.operations import repository as repo
from feedback.operations import rollups, service
from feedback.operations.models import DEFAULT_REPEAT_WINDOW
from feedback.reports.figures import make_filters, report_zone
from feedback.responses import record_response
from tests.factories import interaction_payload

# New York: clocks go forward on 2026-03-08. At NOW days before 03-20 (local) are rolled up,
# those before 03-13 settled, 03-13 … 03-19 provisional (inferred FCR: repeats only).
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
START = datetime(2026, 2, 18, 3, 0, tzinfo=UTC)
KINDS = ("nps", "csat", "ces")
REASONS = ("billing", "delivery", None)
TEAMS = ("Billing", "Support", None)


def contact(session: Any, settings: Any, n: int, when: datetime, **over: Any) -> Any:
    """Contact n with operational facts that vary with n, and for two contacts in three a
    survey answer (kind, score and "resolved?" varying too)."""
    kind = KINDS[n % 3]
    ops: dict[str, Any] = {"contact_reason": REASONS[n % 3], "transfers": (0, 0, 1, 2)[n % 4],
                           "resolved": (True, False, None)[n % 3]}
    if n % 5 == 0:  # abandoned, half of them within 5 s
        ops.update(abandoned=True, wait_seconds=3 if n % 10 == 0 else 45)
    elif n % 4 == 3:  # written channels: first response time
        ops.update(channel="email", first_response_seconds=600 + 37 * n)
    else:
        ops.update(wait_seconds=(17 * n) % 400, talk_seconds=100 + (53 * n) % 700,
                   hold_seconds=(11 * n) % 90, wrap_seconds=(7 * n) % 60)
    payload = interaction_payload(
        n, occurred_at=when.isoformat(), survey=kind, agent=f"agent-{n % 4}",
        team=TEAMS[n % 3], queue=f"q{n % 2}", channel=ops.pop("channel", "phone"),
        customer={"external_id": f"C-{n % 6}"}, **{**ops, **over})
    result = ingest_one(session, InteractionIn.model_validate(payload),
                        now=when + timedelta(minutes=1), settings=settings)
    if n % 3 != 2 and result.invitation is not None:
        inv = result.invitation
        inv.status, inv.sent_at = "sent", when + timedelta(minutes=30)
        score = {"nps": n % 11, "csat": 1 + n % 5, "ces": 1 + n % 7}[kind]
        record_response(session, inv, score=score, comment=None, source="web",
                        now=when + timedelta(hours=1), settings=settings,
                        resolved=(True, False, None, True)[n % 4])
    session.commit()
    return result


@pytest.fixture
def ny_settings(settings: Any) -> Any:
    return settings.model_copy(update={"report_time_zone": "America/New_York"})


@pytest.fixture
def centre(session: Any, ny_settings: Any) -> int:
    """90 contacts, one every ~7.7 hours from 02-18 to 03-19, near local midnights too."""
    n = 0
    for n in range(1, 91):
        contact(session, ny_settings, n, START + timedelta(hours=7.7 * n))
    return n


def _report(session: Any, settings: Any, *, live: bool, by: str = "team", grain: str = "day",
            window: timedelta = DEFAULT_REPEAT_WINDOW, now: datetime = NOW, **filters: Any
            ) -> dict[str, Any]:
    f = make_filters(now, tz=report_zone(settings), **filters)
    return service.report(session, f, now, grain=grain, by=by, window=window, live=live)


CASES = [
    {"frm": "2026-02-15", "to": "2026-03-20"},
    {"frm": "2026-02-01", "to": "2026-03-20"},  # February whole: its month rows
    {"frm": "2026-01-20", "to": "2026-03-12", "team": "Support", "by": "agent"},
    {"frm": "2026-03-01", "to": "2026-03-10", "team": "Billing"},
    {"frm": "2026-03-07", "to": "2026-03-09", "channel": "phone", "queue": "q1"},
    {"frm": "2026-02-20", "to": "2026-03-15", "agent": "agent-1"},
    {"frm": "2026-02-20", "to": "2026-03-12", "agent": "agent-2", "channel": "phone"},
    {"frm": "2026-02-20", "to": "2026-03-12", "kind": "csat", "team": "Support"},
]


@pytest.mark.parametrize("filters", CASES)
def test_rollups_agree_with_live_rows(engine, session, ny_settings, centre, filters):  # type: ignore[no-untyped-def]
    filters = {k: v for k, v in filters.items() if k != "by"}
    rollups.catch_up(engine, ny_settings, NOW)
    assert repo.ops_view(session, report_zone(ny_settings)) == repo.OpsView(
        date(2026, 3, 20), date(2026, 3, 13))
    for by in ("team", "agent", "queue", "channel", "contact_reason"):
        rolled = _report(session, ny_settings, live=False, by=by, **filters)
        assert rolled == _report(session, ny_settings, live=True, by=by, **filters), by
    for grain in ("week", "month"):
        assert (_report(session, ny_settings, live=False, grain=grain, **filters)
                == _report(session, ny_settings, live=True, grain=grain, **filters)), grain


def test_rollups_hold_figures_not_zeros(engine, session, ny_settings, centre):  # type: ignore[no-untyped-def]
    from feedback.operations.rollup_models import OPS_DAILY, OPS_SATISFACTION_DAILY

    rollups.catch_up(engine, ny_settings, NOW)
    import sqlalchemy as sa

    months = session.execute(sa.select(sa.func.sum(OPS_DAILY.c.contacts)).where(
        OPS_DAILY.c.span == "m")).scalar()
    feb = sum(1 for n in range(1, 91) if date(2026, 2, 1) <= (
        START + timedelta(hours=7.7 * n) - timedelta(hours=5)).date() < date(2026, 3, 1))
    assert int(months) == feb  # February is the one whole month rolled up
    contacts = session.execute(sa.select(sa.func.sum(OPS_DAILY.c.contacts)).where(
        OPS_DAILY.c.span == "d")).scalar()
    inferred = session.execute(sa.select(sa.func.sum(OPS_DAILY.c.inferred_n))).scalar()
    answers = session.execute(sa.select(sa.func.sum(OPS_SATISFACTION_DAILY.c.n)).where(
        OPS_SATISFACTION_DAILY.c.dimension == "agent")).scalar()
    # Contacts up to local 03-19 (23:59 EDT = 03-20 03:59 UTC): n * 7.7 h after START.
    rolled = sum(1 for n in range(1, 91)
                 if START + timedelta(hours=7.7 * n) < datetime(2026, 3, 20, 4, tzinfo=UTC))
    assert int(contacts) == rolled and int(inferred) > 0 and int(answers) > 0
    # Provisional days hold repeats only: no contact of 03-13 … 03-19 counted resolved yet.
    provisional = session.execute(sa.select(sa.func.sum(OPS_DAILY.c.inferred_yes)).where(
        OPS_DAILY.c.span == "d", OPS_DAILY.c.day >= date(2026, 3, 13))).scalar()
    assert int(provisional or 0) == 0


@pytest.mark.parametrize("hours", [0, 3, 13, 27, 50])
def test_provisional_days_agree_with_live_rows_as_windows_close(  # type: ignore[no-untyped-def]
        engine, session, ny_settings, centre, hours):
    """One run at NOW, reports later: the contacts whose window closed since (up to two days
    of them here, when the job has not run) come from raw rows, the rest from the rollups."""
    rollups.catch_up(engine, ny_settings, NOW)
    later = NOW + timedelta(hours=hours)
    for by in ("team", "agent", "contact_reason"):
        for filters in ({"frm": "2026-02-15"}, {"frm": "2026-03-13", "team": "Support"},
                        {"frm": "2026-03-01", "to": "2026-03-14", "channel": "phone"}):
            rolled = _report(session, ny_settings, live=False, by=by, now=later, **filters)
            assert rolled == _report(session, ny_settings, live=True, by=by, now=later,
                                     **filters), (by, filters)
    assert _report(session, ny_settings, live=False, now=later, frm="2026-02-15")["fcr"][
        "inferred"]["n"] > 0


def test_a_day_settles_when_its_window_has_passed(engine, session, ny_settings, centre):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    tomorrow = NOW + timedelta(days=1)
    run = rollups.refresh_job(engine, ny_settings, tomorrow)
    assert {date(2026, 3, 13), date(2026, 3, 20)} <= set(run.days)  # settled; ended
    assert repo.ops_view(session, report_zone(ny_settings)) == repo.OpsView(
        date(2026, 3, 21), date(2026, 3, 14))
    assert (_report(session, ny_settings, live=False, now=tomorrow, frm="2026-02-15")
            == _report(session, ny_settings, live=True, now=tomorrow, frm="2026-02-15"))


def test_another_repeat_window_reads_live(engine, session, ny_settings, centre):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    window = timedelta(days=2)
    assert (_report(session, ny_settings, live=False, window=window, frm="2026-02-15")
            == _report(session, ny_settings, live=True, window=window, frm="2026-02-15"))


def test_a_late_import_is_read_live_until_the_next_run(engine, session, ny_settings, centre):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    # A repeat of customer C-1 on billing: it makes an earlier settled contact unresolved.
    contact(session, ny_settings, 601, datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    tz = report_zone(ny_settings)
    # Read live from the day of the earliest contact it repeats (C-1's of 02-24, local), not
    # from a whole window before it.
    assert repo.ops_view(session, tz).until == date(2026, 2, 24)
    filters = {"frm": "2026-02-15", "to": "2026-03-20"}
    assert (_report(session, ny_settings, live=False, **filters)
            == _report(session, ny_settings, live=True, **filters))
    run = rollups.refresh_job(engine, ny_settings, NOW)
    assert date(2026, 2, 24) in run.days and date(2026, 3, 2) in run.days
    assert repo.ops_view(session, tz).until == date(2026, 3, 20)
    for period in (filters, {"frm": "2026-02-01", "to": "2026-03-20"}):
        assert (_report(session, ny_settings, live=False, **period)
                == _report(session, ny_settings, live=True, **period))


def test_an_interaction_sent_again_marks_its_days_dirty(engine, session, ny_settings, centre):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    tz = report_zone(ny_settings)
    # Contact 10 (02-21) is corrected: another day, another team, no longer abandoned.
    moved = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    payload = interaction_payload(10, occurred_at=moved.isoformat(), team="Support",
                                  abandoned=False, talk_seconds=400,
                                  customer={"external_id": "C-4"})
    ingest_one(session, InteractionIn.model_validate(payload), now=NOW, settings=ny_settings)
    session.commit()
    assert repo.ops_view(session, tz).until < date(2026, 2, 21)
    filters = {"frm": "2026-02-15", "to": "2026-03-20"}
    expected = _report(session, ny_settings, live=True, **filters)
    assert _report(session, ny_settings, live=False, **filters) == expected
    run = rollups.refresh_job(engine, ny_settings, NOW)
    assert {date(2026, 2, 21), date(2026, 3, 5)} <= set(run.days)
    assert repo.ops_view(session, tz).until == date(2026, 3, 20)
    assert _report(session, ny_settings, live=False, **filters) == expected


def test_rollup_job_is_idempotent(engine, session, ny_settings, centre):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    first = _report(session, ny_settings, live=False, frm="2026-02-15", by="agent")
    for minutes in (5, 20, 40):
        last = rollups.refresh_job(engine, ny_settings, NOW + timedelta(minutes=minutes))
    assert last.days == []
    assert _report(session, ny_settings, live=False, frm="2026-02-15", by="agent") == first


def test_a_new_time_zone_rebuilds(engine, session, ny_settings, settings, centre):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    assert rollups.refresh_job(engine, settings, NOW).rebuilt
    rollups.catch_up(engine, settings, NOW)
    assert (_report(session, settings, live=False, frm="2026-02-15")
            == _report(session, settings, live=True, frm="2026-02-15"))


def test_todays_contacts_recompute_only_the_days_they_repeat(engine, session, ny_settings, centre):  # type: ignore[no-untyped-def]
    """A new contact today changes today (read live anyway) and the days of the contacts it
    repeats — not the whole week before it, for the reader or the job."""
    rollups.catch_up(engine, ny_settings, NOW)
    tz = report_zone(ny_settings)
    contact(session, ny_settings, 602, NOW - timedelta(hours=2))  # no reason: repeats nothing
    assert repo.ops_view(session, tz).until == date(2026, 3, 20)
    # (The job finds touched days by UTC day: today's UTC day starts on local 03-19.)
    assert set(rollups.refresh_job(engine, ny_settings, NOW).days) <= {date(2026, 3, 19)}
    # C-4 on delivery again: its contacts of 03-14, 03-16 and 03-18 were within 7 days.
    contact(session, ny_settings, 604, NOW - timedelta(hours=2))
    assert repo.ops_view(session, tz).until == date(2026, 3, 14)
    filters = {"frm": "2026-03-01", "to": "2026-03-20"}
    assert (_report(session, ny_settings, live=False, **filters)
            == _report(session, ny_settings, live=True, **filters))
    run = rollups.refresh_job(engine, ny_settings, NOW)
    # A whole window back (local 03-12 and before) is left alone.
    assert date(2026, 3, 16) in run.days and min(run.days) >= date(2026, 3, 13)
    assert (_report(session, ny_settings, live=False, **filters)
            == _report(session, ny_settings, live=True, **filters))
