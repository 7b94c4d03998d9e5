"""Which answers open a recovery task, with which priority, and joining an open task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from feedback.recovery.models import RecoveryEvent, RecoveryTask, RecoveryTaskResponse
from feedback.recovery.triggers import matched_keywords, priority_for
from feedback.responses import record_comment
from tests.support.followups import run_followups


def _tasks(session):  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.exec(select(RecoveryTask).order_by(RecoveryTask.id)).all())


@pytest.mark.parametrize(("survey", "score", "opens"), [
    ("nps", 0, True), ("nps", 6, True), ("nps", 7, False), ("nps", 10, False),
    ("csat", 1, True), ("csat", 2, True), ("csat", 3, False),
    ("ces", 1, True), ("ces", 3, True), ("ces", 4, False),
])
def test_negative_score_opens_a_task_and_the_boundary_does_not(session, answer, survey, score, opens):  # type: ignore[no-untyped-def]
    answer(score=score, survey=survey)
    tasks = _tasks(session)
    assert bool(tasks) is opens
    if opens:
        t = tasks[0]
        assert (t.kind, t.score, t.status, t.triggers) == (survey, score, "new", ["score"])
        assert t.first_contact_due_at - t.opened_at == timedelta(hours=24)
        assert t.resolution_due_at - t.opened_at == timedelta(hours=48)
        assert t.team == "Billing" and t.agent == "Tom" and t.interaction_id is not None


def test_thresholds_come_from_settings(session, answer, settings):  # type: ignore[no-untyped-def]
    settings.nps_detractor_max = 5
    answer(score=6)
    assert _tasks(session) == []
    answer(n=2, score=5)
    assert len(_tasks(session)) == 1


@pytest.mark.parametrize("comment", [
    "Fine, but I will CANCEL my contract if this happens again",
    "I'm cancelling.", "Filing a complaint.", "My lawyer will be in touch",
    "我要投诉你们的服务", "我想取消订单", "می‌خواهم شکایت کنم", "شكايت دارم",  # Arabic kaf/yeh
    "قراردادم را کنسل می‌کنم",
])
def test_keywords_open_a_task_even_with_a_neutral_score(session, answer, comment):  # type: ignore[no-untyped-def]
    answer(score=7, comment=comment)
    [task] = _tasks(session)
    assert any(t.startswith("keyword:") for t in task.triggers) and "score" not in task.triggers


def test_keywords_need_whole_words_and_ignore_happy_customers(session, answer):  # type: ignore[no-untyped-def]
    assert matched_keywords("my issue was solved", ["sue"]) == []  # "sue" inside "issue"
    assert matched_keywords("they sued", ["sue"]) == []
    assert matched_keywords("They SUE people", ["sue"]) == ["sue"]
    answer(score=8, comment="Quick answer, very helpful")
    answer(n=2, score=10, comment="They helped me cancel the old plan, great")
    assert _tasks(session) == []


def test_themes_from_insights_trigger_when_configured(session, answer, settings, monkeypatch):  # type: ignore[no-untyped-def]
    from feedback.insights import service as insights

    monkeypatch.setattr(insights, "themes_for", lambda s, rid: ["billing", "wait time"], raising=False)
    settings.recovery_trigger_themes = ["Billing"]
    answer(score=7, comment="the bill was odd")
    [task] = _tasks(session)
    assert task.triggers == ["theme:billing"]


def test_a_comment_arriving_later_is_evaluated_once(session, answer, settings, clock, engine):  # type: ignore[no-untyped-def]
    response = answer(score=7)  # passive, no comment yet: nothing
    assert _tasks(session) == []
    from surveys.models import Invitation

    inv = session.get(Invitation, response.invitation_id)
    record_comment(session, inv, "I want to cancel", now=clock.now, settings=settings)
    session.commit()
    assert _tasks(session) == []  # after commit, by the follow-up
    run_followups(engine, settings, clock)
    clock.advance(minutes=1)
    record_comment(session, inv, "I want to cancel", now=clock.now, settings=settings)  # again
    session.commit()
    run_followups(engine, settings, clock)
    [task] = _tasks(session)
    assert task.triggers == ["keyword:cancel"]
    links = session.exec(select(RecoveryTaskResponse)).all()
    assert len(links) == 1


def test_detractor_with_comment_later_adds_the_keyword_to_its_task(session, answer, settings, clock, engine):  # type: ignore[no-untyped-def]
    response = answer(score=2)
    from surveys.models import Invitation

    inv = session.get(Invitation, response.invitation_id)
    record_comment(session, inv, "talking to my lawyer", now=clock.now, settings=settings)
    clock.advance(seconds=5)  # two changes, two follow-ups: the second adds nothing
    record_comment(session, inv, "talking to my lawyer", now=clock.now, settings=settings)
    session.commit()
    assert run_followups(engine, settings, clock) == 2
    [task] = _tasks(session)
    assert set(task.triggers) == {"score", "keyword:lawyer"}
    actions = [e.action for e in session.exec(select(RecoveryEvent)).all()]
    assert actions.count("triggers") == 1


def test_second_detractor_joins_the_open_task_and_raises_priority(session, answer, clock):  # type: ignore[no-untyped-def]
    answer(n=1, score=5)
    clock.advance(hours=3)
    answer(n=2, score=4, customer={"external_id": "C-1"})
    [task] = _tasks(session)
    assert task.priority == "high"
    assert len(session.exec(select(RecoveryTaskResponse)
                            .where(RecoveryTaskResponse.task_id == task.id)).all()) == 2
    # The joined answer does not restart the clock.
    assert task.first_contact_due_at == task.opened_at + timedelta(hours=24)


def test_a_different_customer_gets_their_own_task(session, answer):  # type: ignore[no-untyped-def]
    answer(n=1, score=5)
    answer(n=2, score=5)
    assert len(_tasks(session)) == 2


def test_repeat_detractor_within_90_days_is_high_priority(session, answer, clock, settings):  # type: ignore[no-untyped-def]
    from feedback.recovery.models import TaskStatus
    from feedback.recovery.service import SYSTEM, finish

    answer(n=1, score=5)
    [first] = _tasks(session)
    finish(session, first, TaskStatus.RESOLVED, SYSTEM, clock.now, outcome="recovered")
    session.commit()
    clock.advance(days=60)
    answer(n=2, score=5, customer={"external_id": "C-1"})
    tasks = _tasks(session)
    assert len(tasks) == 2 and tasks[1].priority == "high" and "repeat" in tasks[1].triggers
    finish(session, tasks[1], TaskStatus.RESOLVED, SYSTEM, clock.now, outcome="recovered")
    session.commit()
    clock.advance(days=91)
    answer(n=3, score=5, customer={"external_id": "C-1"})
    assert _tasks(session)[2].priority == "normal"


def test_vip_tier_and_very_low_scores_raise_priority(session, answer):  # type: ignore[no-untyped-def]
    answer(n=1, score=5, customer={"tier": "Gold"})
    answer(n=2, score=0)
    answer(n=3, score=1, customer={"tier": "vip"})
    assert [t.priority for t in _tasks(session)] == ["high", "high", "urgent"]
    urgent = _tasks(session)[2]
    assert urgent.first_contact_due_at - urgent.opened_at == timedelta(hours=4)
    assert priority_for(very_low=False, vip=False, repeat=True) == "high"


def test_followup_answers_never_open_a_task(session, answer, settings, clock, engine):  # type: ignore[no-untyped-def]
    from feedback.responses import record_response
    from surveys.models import Customer, Invitation
    from surveys.service import create_invitation, survey_by_key

    answer(n=1, score=9)
    customer = session.exec(select(Customer)).one()
    inv = create_invitation(session, customer=customer, survey=survey_by_key(session, "nps"),
                            channel="email", send_at=clock.now, expires_at=clock.now + timedelta(days=7),
                            now=clock.now, purpose="recovery_followup")
    record_response(session, inv, score=2, comment="still angry, cancel", source="web",
                    now=clock.now, settings=settings)
    session.commit()
    run_followups(engine, settings, clock)
    assert _tasks(session) == []
    assert session.get(Invitation, inv.id).status == "answered"


def test_recovery_can_be_turned_off(session, answer, settings):  # type: ignore[no-untyped-def]
    settings.recovery_enabled = False
    answer(score=0)
    assert _tasks(session) == []
