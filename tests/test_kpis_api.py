from __future__ import annotations

from datetime import timedelta

import pytest

from feedback.responses import record_response
from tests.factories import make_invitation


def _answer(session, settings, clock, n, kind, score, team="Billing"):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now, n, survey=kind, team=team)
    inv.status, inv.sent_at = "sent", clock.now
    record_response(session, inv, score=score, comment=None, source="web", now=clock.now,
                    settings=settings)
    session.commit()


@pytest.fixture
def answers(session, settings, clock):  # type: ignore[no-untyped-def]
    n = 0
    for score in [9, 10, 9, 10, 9, 7, 8, 7, 3, 6]:  # 5 promoters, 3 passives, 2 detractors
        n += 1
        _answer(session, settings, clock, n, "nps", score, team="Billing" if n <= 5 else "Support")
    for score in [5, 4, 4, 2]:
        n += 1
        _answer(session, settings, clock, n, "csat", score)
    for score in [2, 5, 6, 7]:
        n += 1
        _answer(session, settings, clock, n, "ces", score)
    # one invitation sent but never answered, for the response rate
    inv = make_invitation(session, settings, clock.now, 99)
    inv.status, inv.sent_at = "sent", clock.now
    session.commit()


def test_kpis_match_hand_computed_figures(api, answers):  # type: ignore[no-untyped-def]
    r = api.get("/api/kpis", params={"from": "2026-03-01", "to": "2026-03-31"})
    assert r.status_code == 200, r.text
    o = r.json()["overall"]
    assert o["responses"] == 18
    assert o["nps"]["value"] == pytest.approx(30.0)  # 50 % − 20 %
    assert o["nps"]["n"] == 10 and o["nps"]["moe"] > 0
    assert o["csat"]["value"] == pytest.approx(75.0)  # 3 of 4 satisfied
    assert o["ces"]["value"] == pytest.approx(5.0)  # (2+5+6+7)/4
    assert o["ces_easy"]["value"] == pytest.approx(75.0)
    assert o["response_rate"]["sent"] == 19 and o["response_rate"]["answered"] == 18


def test_group_by_team_and_day(api, answers):  # type: ignore[no-untyped-def]
    teams = {g["key"]: g for g in api.get("/api/kpis?group_by=team&kind=nps&from=2026-03-01&to=2026-03-31").json()["groups"]}
    assert teams["Billing"]["nps"]["value"] == pytest.approx(100.0)
    assert teams["Support"]["nps"]["value"] == pytest.approx(-40.0)  # 0 promoters, 3 passives, 2 detractors
    days = api.get("/api/kpis?group_by=day&from=2026-03-01&to=2026-03-31").json()["groups"]
    assert [d["key"] for d in days] == ["2026-03-10"]
    weeks = api.get("/api/kpis?group_by=week&from=2026-03-01&to=2026-03-31").json()["groups"]
    assert [w["key"] for w in weeks] == ["2026-03-09"]  # ISO week starts on Monday


def test_empty_period_has_no_figures_not_errors(api, clock):  # type: ignore[no-untyped-def]
    r = api.get("/api/kpis", params={"from": "2020-01-01", "to": "2020-01-31"})
    assert r.status_code == 200
    o = r.json()["overall"]
    assert o["responses"] == 0 and "nps" not in o
    assert o["response_rate"]["value"] is None


def test_one_response(api, session, settings, clock):  # type: ignore[no-untyped-def]
    _answer(session, settings, clock, 1, "nps", 10)
    o = api.get("/api/kpis").json()["overall"]
    assert o["nps"]["value"] == 100.0 and o["nps"]["n"] == 1


@pytest.mark.parametrize(("query", "field"), [
    ("group_by=year", "group_by"), ("from=31-01-2026", "from"), ("kind=xyz", "kind"),
    ("from=2026-03-10&to=2026-03-01", "from"),
])
def test_bad_parameters_are_named(api, query, field):  # type: ignore[no-untyped-def]
    r = api.get(f"/api/kpis?{query}")
    assert r.status_code == 422
    assert r.json()["field"] == field


def test_default_period_is_last_30_days(api, session, settings, clock):  # type: ignore[no-untyped-def]
    _answer(session, settings, clock, 1, "nps", 10)
    clock.advance(days=31)
    assert api.get("/api/kpis").json()["overall"]["responses"] == 0
    clock.now -= timedelta(days=2)
    assert api.get("/api/kpis").json()["overall"]["responses"] == 1
