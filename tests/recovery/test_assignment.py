"""Round-robin assignment within the task's team: fair over its available members, skipping
people who are off; then the team lead; then nobody — never another team's agent."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session, select

from feedback.auth.models import User
from feedback.recovery.models import RecoveryTask


def _owners(engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [t.owner_id for t in s.exec(select(RecoveryTask).order_by(RecoveryTask.id)).all()]


def test_round_robin_is_fair_and_skips_people_who_are_off(engine, answer, staff):  # type: ignore[no-untyped-def]
    a, b, c = staff("A", team="Billing"), staff("B", team="Billing"), staff("C", team="Billing")
    staff("Off", available=False, team="Billing")
    staff("Gone", active=False, team="Billing")
    staff("Lead", role="lead", team="Billing")  # leads are not in the rotation
    for n in range(1, 10):
        answer(n=n, score=2)
    owners = _owners(engine)
    assert Counter(owners) == {a.id: 3, b.id: 3, c.id: 3}
    assert owners[:3] == [a.id, b.id, c.id] and owners[3:6] == owners[:3]  # strict rotation


def test_a_newcomer_is_next_and_the_rotation_continues(engine, answer, staff):  # type: ignore[no-untyped-def]
    a, b = staff("A", team="Billing"), staff("B", team="Billing")
    for n in range(1, 4):
        answer(n=n, score=2)
    c = staff("C", team="Billing")  # joins with no assignments: waited longest
    for n in range(4, 8):
        answer(n=n, score=2)
    assert _owners(engine) == [a.id, b.id, a.id, c.id, b.id, a.id, c.id]


def test_tasks_stay_in_their_team_then_go_to_its_lead_then_wait(engine, answer, staff, settings):  # type: ignore[no-untyped-def]
    assert settings.recovery_assignment == "team"  # the default
    billing = [staff("B1", team="Billing"), staff("B2", team="Billing")]
    staff("S1", team="Sales")  # waited longest, but of another team
    for n in range(1, 5):
        answer(n=n, score=2)  # the factory's interactions are Billing's
    answer(n=9, score=2, team="Support")  # no Support member, no Support lead: nobody
    staff("Support lead", role="lead", team="Support")
    answer(n=10, score=2, team="Support", customer={"external_id": "C-10"})
    with Session(engine) as s:
        lead_id = s.exec(select(User.id).where(User.name == "Support lead")).one()
    owners = _owners(engine)
    assert owners[:4] == [billing[0].id, billing[1].id] * 2
    assert owners[4:] == [None, lead_id]


def test_a_team_agent_who_is_off_hands_to_the_lead_not_to_another_team(engine, answer, staff):  # type: ignore[no-untyped-def]
    staff("B1", team="Billing", available=False)
    staff("S1", team="Sales")
    lead = staff("Lena", role="lead", team="Billing")
    answer(score=2)
    assert _owners(engine) == [lead.id]


def test_round_robin_over_everyone_only_when_agents_see_all_teams(engine, answer, staff, settings):  # type: ignore[no-untyped-def]
    settings.recovery_assignment = "round_robin"
    sales = staff("S1", team="Sales")
    answer(n=1, score=2)
    settings.recovery_agents_see_all_teams = True
    answer(n=2, score=2)
    assert _owners(engine) == [None, sales.id]


def test_no_assignment_leaves_tasks_to_be_claimed(engine, answer, staff, settings):  # type: ignore[no-untyped-def]
    settings.recovery_assignment = "none"
    staff("A", team="Billing")
    answer(score=2)
    assert _owners(engine) == [None]


def test_nobody_available_leaves_the_task_new(engine, answer, staff):  # type: ignore[no-untyped-def]
    staff("Off", available=False)
    answer(score=2)
    with Session(engine) as s:
        task = s.exec(select(RecoveryTask)).one()
    assert (task.owner_id, task.status) == (None, "new")
