"""Closing the loop with the customer (the follow-up survey, within opt-out and fatigue rules)
and the closed-loop metrics leads read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from feedback.recovery.models import RecoveryEvent, RecoveryTask
from feedback.responses import record_response
from outreach import optouts
from surveys.models import Invitation, SurveyDefinition
from tests.outreach.conftest import make_dispatcher, outbox  # noqa: F401  (fixture)
from tests.support.followups import run_followups


def _resolve(api, task_id, outcome="recovered", root_cause="billing error", channel="call"):  # type: ignore[no-untyped-def]
    r = api.post(f"/api/recovery/tasks/{task_id}/contact-attempts",
                 json={"channel": channel, "result": "reached"})
    assert r.status_code == 201, r.text
    r = api.post(f"/api/recovery/tasks/{task_id}/resolve",
                 json={"outcome": outcome, "root_cause": root_cause})
    assert r.status_code == 200, r.text
    return r.json()


def _task_ids(engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [t.id for t in s.exec(select(RecoveryTask).order_by(RecoveryTask.id)).all()]


def _followup_notes(engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [e.note for e in s.exec(select(RecoveryEvent).where(RecoveryEvent.action == "followup")
                                       .order_by(RecoveryEvent.id)).all()]


def test_resolution_schedules_the_followup_and_its_answer_measures_the_change(api, engine, answer, clock, settings, session):  # type: ignore[no-untyped-def]
    answer(score=3, comment="rude agent")
    [tid] = _task_ids(engine)
    clock.advance(hours=3)
    done = _resolve(api, tid)
    inv = session.get(Invitation, done["followup_invitation_id"])
    assert inv.purpose == "recovery_followup" and inv.send_at == clock.now + timedelta(hours=24)
    survey = session.get(SurveyDefinition, inv.survey_id)
    assert survey.key == "nps-recovery-followup"
    # Its wording is an ordinary survey version (the survey editor), pinned on the invitation.
    from feedback.configuration.surveys import content_of

    en = content_of(session, survey.id, inv.survey_version)["texts"]["en"]
    assert en["why"].startswith("Did we resolve your concern?")
    assert "recommend {company}" in en["question"]  # the original question again
    clock.advance(days=1, hours=2)
    record_response(session, inv, score=9, comment="thanks for calling", source="web",
                    now=clock.now, settings=settings)
    session.commit()
    run_followups(engine, settings, clock)  # the follow-up answer reaches its task
    task = api.get(f"/api/recovery/tasks/{tid}").json()
    assert (task["followup_score"], task["followup_classification"]) == (9, "promoter")
    assert len(_task_ids(engine)) == 1  # a follow-up answer never opens a task
    m = api.get("/api/recovery/metrics").json()["overall"]
    assert m["followup"] == {"sent": 1, "answered": 1, "recovered_pct": 100.0,
                             "score_change": {"nps": {"n": 1, "mean": 6.0}}}


def test_no_followup_for_a_customer_who_opted_out(api, engine, answer, clock, session):  # type: ignore[no-untyped-def]
    answer(score=3)
    optouts.record(session, "all", "+14155550100", source="test", now=clock.now)
    optouts.record(session, "email", "ana1@example.com", source="test", now=clock.now)
    session.commit()
    [tid] = _task_ids(engine)
    assert _resolve(api, tid)["followup_invitation_id"] is None
    assert "opted out" in _followup_notes(engine)[0]


def test_one_followup_per_customer_within_the_fatigue_window(api, engine, answer, clock, settings):  # type: ignore[no-untyped-def]
    answer(score=3)
    assert _resolve(api, _task_ids(engine)[0])["followup_invitation_id"] is not None
    clock.advance(days=10)
    answer(n=2, score=2, customer={"external_id": "C-1"})  # the same customer, a new task
    assert _resolve(api, _task_ids(engine)[1])["followup_invitation_id"] is None
    assert "already got a follow-up in the last 30 days" in _followup_notes(engine)[1]
    clock.advance(days=31)
    answer(n=3, score=2, customer={"external_id": "C-1"})
    assert _resolve(api, _task_ids(engine)[2])["followup_invitation_id"] is not None


def test_followups_can_be_turned_off(api, engine, answer, settings):  # type: ignore[no-untyped-def]
    settings.recovery_followup = False
    answer(score=3)
    assert _resolve(api, _task_ids(engine)[0])["followup_invitation_id"] is None
    assert _followup_notes(engine) == ["follow-up surveys are turned off"]


@pytest.fixture
def loop(api, engine, answer, clock, staff):  # type: ignore[no-untyped-def]
    """Four tasks with known timings: contacted after 2 h, 10 h, 30 h (late) and never."""
    rita, sam = staff("Rita", team="Billing"), staff("Sam", team="Sales")
    start = clock.now
    for n in range(1, 5):
        answer(n=n, score=3, team="Billing" if n <= 2 else "Sales")
    ids = _task_ids(engine)
    plan = [(2, "recovered", "billing error"), (10, "not_recovered", "price"),
            (30, "recovered", "billing error")]
    for tid, (hours, outcome, cause) in zip(ids, plan, strict=False):
        clock.now = start + timedelta(hours=hours)
        api.post(f"/api/recovery/tasks/{tid}/contact-attempts", json={"channel": "call", "result": "reached"})
        clock.now = start + timedelta(hours=hours + 4)
        api.post(f"/api/recovery/tasks/{tid}/resolve", json={"outcome": outcome, "root_cause": cause,
                                                             "followup": False})
    clock.now = start + timedelta(hours=60)
    from feedback.recovery.tasks import scan_sla
    scan_sla(engine, api.app.state.settings, clock.now)
    return {"rita": rita, "sam": sam, "ids": ids}


def test_closed_loop_metrics(api, loop):  # type: ignore[no-untyped-def]
    m = api.get("/api/recovery/metrics").json()
    o = m["overall"]
    assert (o["tasks"], o["open"], o["customers_reached"]) == (4, 1, 3)
    assert o["first_contact_hours"] == {"n": 3, "median": 10.0, "p90": pytest.approx(26.0, abs=4)}
    assert o["resolution_hours"]["median"] == 14.0
    assert o["first_contact_within_sla_pct"] == 50.0  # 2 of 4 (one late, one never)
    assert o["resolution_within_sla_pct"] == 75.0  # 3 resolved within 48 h, one open past it
    assert o["breaches"] == {"first_contact": 1, "resolution": 1}  # the never-contacted task
    assert o["outcomes"] == {"recovered": 2, "not_recovered": 1, "unreachable": 0, "closed": 0}
    assert o["recovery_rate_pct"] == pytest.approx(66.7)
    assert m["sla_hours"] == {"first_contact": 24.0, "resolution": 48.0, "business_hours": False}


def test_metrics_by_team_owner_root_cause_and_month(api, loop):  # type: ignore[no-untyped-def]
    def groups(by):  # type: ignore[no-untyped-def]
        r = api.get(f"/api/recovery/metrics?group_by={by}")
        assert r.status_code == 200, r.text
        return {g["key"]: g for g in r.json()["groups"]}

    team = groups("team")
    assert (team["Billing"]["tasks"], team["Sales"]["tasks"]) == (2, 2)
    assert team["Billing"]["first_contact_within_sla_pct"] == 100.0
    assert set(groups("owner")) == {"Rita", "Sam"}  # round robin gave two each
    causes = groups("root_cause")
    assert causes["billing error"]["recovery_rate_pct"] == 100.0 and causes["price"]["tasks"] == 1
    assert causes["(none)"]["open"] == 1
    [month] = groups("month").values()
    assert month["key"] == "2026-03" and month["customers_reached"] == 3


@pytest.mark.parametrize(("query", "field"), [
    ("group_by=planet", "group_by"), ("from=2026-13-01", "from"), ("from=2026-03-10&to=2026-03-01", "from"),
])
def test_bad_metric_parameters_are_named(api, query, field):  # type: ignore[no-untyped-def]
    r = api.get(f"/api/recovery/metrics?{query}")
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_the_dispatcher_sends_the_followup_despite_the_recent_survey(api, engine, answer, clock, make_dispatcher):  # type: ignore[no-untyped-def]  # noqa: F811
    answer(score=3)  # surveyed just now: the general fatigue rule would hold any new survey
    done = _resolve(api, _task_ids(engine)[0])
    clock.advance(hours=25)
    assert make_dispatcher().run_once()["sent"] == 1
    assert [m.to for m in outbox(engine)] == ["+14155550100"]
    with Session(engine) as s:
        assert s.get(Invitation, done["followup_invitation_id"]).status == "sent"


def test_only_a_reached_outcome_stops_the_first_contact_clock(api, engine, answer, clock, staff, settings):  # type: ignore[no-untyped-def]
    from feedback.recovery.tasks import scan_sla

    staff("Rita", team="Billing")
    answer(n=1, score=2)
    [tid] = _task_ids(engine)
    start = clock.now
    for result in ("no_answer", "wrong_number", "left_message"):
        clock.advance(hours=1)
        r = api.post(f"/api/recovery/tasks/{tid}/contact-attempts",
                     json={"channel": "call", "result": result})
        assert r.status_code == 201 and r.json()["first_contact_at"] is None
    clock.now = start + timedelta(hours=25)
    scan_sla(engine, settings, clock.now)  # the deadline still ran: it breaches
    with Session(engine) as s:
        task = s.get(RecoveryTask, tid)
        assert task.first_contact_breached_at is not None  # type: ignore[union-attr]
    r = api.post(f"/api/recovery/tasks/{tid}/contact-attempts", json={"channel": "call", "result": "reached"})
    assert r.json()["first_contact_at"] == clock.now.isoformat()
    # the list is configurable
    settings.recovery_first_contact_results = ["reached", "left_message"]
    answer(n=2, score=2, customer={"external_id": "C-2"})
    tid2 = _task_ids(engine)[-1]
    r = api.post(f"/api/recovery/tasks/{tid2}/contact-attempts",
                 json={"channel": "call", "result": "left_message"})
    assert r.json()["first_contact_at"] == clock.now.isoformat()


def test_metrics_count_business_hours_when_the_sla_does(api, engine, answer, clock, staff, settings):  # type: ignore[no-untyped-def]
    settings.recovery_business_hours = {"mon-fri": "09:00-17:00"}
    staff("Rita", team="Billing")
    start = clock.now  # Tuesday 12:00 UTC
    answer(n=1, score=2)
    [tid] = _task_ids(engine)
    clock.now = start + timedelta(hours=22)  # Wednesday 10:00: 5 + 1 open hours later
    api.post(f"/api/recovery/tasks/{tid}/contact-attempts", json={"channel": "call", "result": "reached"})
    clock.now = start + timedelta(hours=23)
    api.post(f"/api/recovery/tasks/{tid}/resolve", json={"outcome": "recovered", "root_cause": "price",
                                                         "followup": False})
    m = api.get("/api/recovery/metrics").json()
    assert m["durations_in"] == "business_hours"
    assert m["overall"]["first_contact_hours"]["median"] == 6.0
    assert m["overall"]["resolution_hours"]["median"] == 7.0
