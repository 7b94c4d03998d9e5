"""The speed-versus-quality alert through the outbox, and the demo's operational story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from feedback.auth.service import create_user
from feedback.notifications.models import Notification
from feedback.operations import alerts, service
from feedback.reports.figures import make_filters
from feedback.worker import collect_jobs
from tests.operations.conftest import contact


def _week(session, settings, start: datetime, first: int, talk: int, score: int,  # type: ignore[no-untyped-def]
          resolved: bool, team: str = "Billing") -> None:
    for i in range(12):
        at = (start + timedelta(hours=6 * i)).isoformat()
        contact(session, settings, first + i, at, team=team, wait_seconds=30, talk_seconds=talk,
                resolved=resolved, score=score)


def test_alert_when_aht_drops_and_quality_drops(session, settings, clock):  # type: ignore[no-untyped-def]
    create_user(session, email="lead@example.com", name="Lena", role="lead", password="pw-123456789")
    session.commit()
    # Clock 2026-03-10 12:00 UTC: this week is 3–9 March, the one before 24 Feb – 2 March.
    _week(session, settings, datetime(2026, 2, 25, tzinfo=UTC), 100, talk=600, score=10, resolved=True)
    _week(session, settings, datetime(2026, 3, 4, tzinfo=UTC), 200, talk=200, score=2, resolved=False)
    # A team that sped up without losing anything is not alerted.
    _week(session, settings, datetime(2026, 2, 25, tzinfo=UTC), 300, talk=600, score=10,
          resolved=True, team="Sales")
    _week(session, settings, datetime(2026, 3, 4, tzinfo=UTC), 400, talk=200, score=10,
          resolved=True, team="Sales")
    found = alerts.findings(session, alerts.week_filters(clock.now, settings))
    assert [f["team"] for f in found] == ["Billing"]
    assert {d["kpi"] for d in found[0]["drops"]} == {"nps", "fcr"}
    assert found[0]["aht_delta_seconds"] == -400.0
    assert alerts.speed_vs_quality(session, now=clock.now, settings=settings) == 1
    session.commit()
    assert alerts.speed_vs_quality(session, now=clock.now + timedelta(hours=1), settings=settings) == 0
    session.commit()
    note = session.exec(select(Notification).where(Notification.kind == "email")).one()
    assert note.target == "lead@example.com" and "Billing" in (note.subject or "")
    assert "operations.speed_vs_quality" in {j.name for j in collect_jobs()}


def test_demo_data_tells_the_operations_story(engine, settings, session):  # type: ignore[no-untyped-def]
    from feedback.demo import ensure_demo_data

    ensure_demo_data(engine, settings, interactions=300)
    now = datetime.now(UTC)
    f = make_filters(now, (now - timedelta(days=100)).date().isoformat())
    data = service.report(session, f, now, grain="week", by="team",
                          window=timedelta(days=7))
    k = data["kpis"]
    assert k["handled"] > 100 and k["aht"]["value"] and k["abandonment"]["value"] is not None
    assert data["fcr"]["customer"]["n"] > 0 and data["fcr"]["inferred"]["n"] > 0
    fcr = {b["band"]: b for lv in data["satisfaction"]["levers"] if lv["lever"] == "fcr_agent"
           for b in lv["bands"]}
    kind = data["satisfaction"]["kpi"]
    assert fcr["no"][kind]["value"] < fcr["yes"][kind]["value"]  # unresolved contacts hurt


def test_digest_names_the_strongest_operational_effect(session, settings):  # type: ignore[no-untyped-def]
    from datetime import date

    from feedback.reports.digest import compose

    # Transferred customers are detractors, the others promoters (12 each): the lever is clear.
    for i in range(12):
        at = datetime(2026, 3, 2, 8, tzinfo=UTC) + timedelta(hours=4 * i)
        contact(session, settings, 500 + i, at.isoformat(), transfers=0, score=10)
        contact(session, settings, 600 + i, (at + timedelta(hours=1)).isoformat(), transfers=2,
                score=1)
    _, body = compose(session, settings, datetime(2026, 3, 10, 8, tzinfo=UTC), date(2026, 3, 2))
    assert "Strongest operational effect on satisfaction: Transfers: NPS 200.0 points" in body
