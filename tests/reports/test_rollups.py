"""Rollups and live rows give the same figures — across a daylight-saving change in the report
time zone, for every breakdown, and while a historical import waits for the next rollup run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient

from feedback.app import create_app
from feedback.reports import rollups, service
from feedback.reports.figures import report_zone
from feedback.reports.repository import rollup_view
from tests.reports.conftest import answer

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
# Around the US spring-forward (2026-03-08 07:00 UTC) and near local midnights on both sides.
TIMES = ["2026-02-27T04:30", "2026-03-01T05:10", "2026-03-07T04:59", "2026-03-07T05:00",
         "2026-03-07T15:30", "2026-03-08T04:30", "2026-03-08T06:59", "2026-03-08T07:00",
         "2026-03-08T23:59", "2026-03-09T03:59", "2026-03-09T04:00", "2026-03-09T15:30",
         "2026-03-10T03:00", "2026-03-10T11:00"]
TEAMS = ["Billing", "Support", None]
CHANNELS = ["phone", "chat", "email"]


@pytest.fixture
def spread(session, ny_settings):  # type: ignore[no-untyped-def]
    n = 0
    for i, t in enumerate(TIMES):
        at = datetime.fromisoformat(t).replace(tzinfo=UTC)
        for kind, score in (("nps", i % 11), ("csat", 1 + i % 5), ("ces", 1 + (i * 3) % 7)):
            n += 1
            answer(session, ny_settings, at, n, kind, score, team=TEAMS[n % 3],
                   channel=CHANNELS[n % 3], agent=f"agent-{n % 4}", queue=f"q{n % 2}")
    return n


def _both(session, settings, **filters):  # type: ignore[no-untyped-def]
    rolled = service.build_query(session, settings, NOW, **filters)
    live = service.build_query(session, settings, NOW, live=True, **filters)
    return rolled, live


def _figures(session, q, by: str):  # type: ignore[no-untyped-def]
    return service.dashboard(session, q, NOW, grain="day", by=by)


@pytest.mark.parametrize("filters", [
    {"frm": "2026-02-20", "to": "2026-03-10"},
    {"frm": "2026-03-07", "to": "2026-03-09", "team": "Billing"},
    {"frm": "2026-03-01", "to": "2026-03-10", "kind": "nps", "agent": "agent-1"},
    {"frm": "2026-03-01", "to": "2026-03-10", "channel": "chat", "queue": "q1"},
])
def test_rollups_agree_with_live_rows_across_dst(engine, session, ny_settings, spread, filters):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    rolled, live = _both(session, ny_settings, **filters)
    assert rolled.view.responses_until == datetime(2026, 3, 10).date()  # today stays live
    for by in service.BREAKDOWNS:
        assert _figures(session, rolled, by) == _figures(session, live, by), by


def test_local_days_and_hours_follow_the_report_zone(engine, session, ny_settings, spread):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    q = service.build_query(session, ny_settings, NOW, frm="2026-03-06", to="2026-03-09")
    days = {p["bucket"]: p["responses"] for p in _figures(session, q, "team")["trend"]}
    # 03-07T04:59Z is still the 6th in New York (EST), 05:00Z the 7th; 03-08T04:30Z is the 7th
    # (23:30 EST); 06:59Z (01:59 EST) and 07:00Z (03:00 EDT) the 8th; 03-09T03:59Z (23:59 EDT)
    # the 8th; 04:00Z, 15:30Z and 03-10T03:00Z (23:00 EDT) the 9th.
    assert days == {"2026-03-06": 3, "2026-03-07": 9, "2026-03-08": 12, "2026-03-09": 9}
    heat = service.heatmap(session, q)
    # By the interaction's hour, two hours before each answer: Sat 03-07 13:30Z = 08:30 EST,
    # Mon 03-09 13:30Z = 09:30 EDT.
    assert heat["n"][5][8] == 3
    assert heat["n"][0][9] == 3


def test_a_late_import_is_read_live_until_the_next_run(engine, session, ny_settings, spread):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    answer(session, ny_settings, datetime(2026, 3, 2, 14, 0, tzinfo=UTC), 999, "nps", 0,
           team="Billing")
    view = rollup_view(session, report_zone(ny_settings))
    assert view.responses_until == datetime(2026, 3, 2).date()
    filters = {"frm": "2026-02-20", "to": "2026-03-10"}
    rolled, live = _both(session, ny_settings, **filters)
    assert _figures(session, rolled, "team") == _figures(session, live, "team")
    run = rollups.refresh_job(engine, ny_settings, NOW)
    assert datetime(2026, 3, 2).date() in run.days
    rolled, live = _both(session, ny_settings, **filters)
    assert rolled.view.responses_until == datetime(2026, 3, 10).date()
    assert _figures(session, rolled, "team") == _figures(session, live, "team")


def test_api_reads_the_same_figures_from_rollups_and_live(engine, ny_settings, spread):  # type: ignore[no-untyped-def]
    app = create_app(ny_settings, engine=engine, clock=lambda: NOW)
    with TestClient(app, base_url="http://testserver.local") as c:
        c.headers["X-API-Key"] = "test-admin-key"
        query = {"from": "2026-02-20", "to": "2026-03-10", "group_by": "day"}
        before = c.get("/api/kpis", params=query).json()
        board_before = c.get("/api/reports/dashboard", params=query).json()
        rollups.catch_up(engine, ny_settings, NOW)
        assert c.get("/api/kpis", params=query).json() == before
        assert c.get("/api/reports/dashboard", params=query).json() == board_before


def test_rollup_job_is_idempotent(engine, session, ny_settings, spread):  # type: ignore[no-untyped-def]
    rollups.catch_up(engine, ny_settings, NOW)
    q = service.build_query(session, ny_settings, NOW, frm="2026-02-20", to="2026-03-10")
    first = _figures(session, q, "channel")
    # Recent ids are rescanned for a while (a transaction may commit a lower id late): the same
    # days are recomputed to the same figures, and once the ids have settled nothing is redone.
    for minutes in (5, 20, 40):
        last = rollups.refresh_job(engine, ny_settings, NOW + timedelta(minutes=minutes))
    assert last.days == []
    assert _figures(session, service.build_query(session, ny_settings, NOW, frm="2026-02-20",
                                                 to="2026-03-10"), "channel") == first
