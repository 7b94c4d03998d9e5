"""Round-robin assignment: fair over the available members, skipping people who are off."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session, select

from feedback.recovery.models import RecoveryTask


def _owners(engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [t.owner_id for t in s.exec(select(RecoveryTask).order_by(RecoveryTask.id)).all()]


def test_round_robin_is_fair_and_skips_people_who_are_off(engine, answer, staff):  # type: ignore[no-untyped-def]
    a, b, c = staff("A"), staff("B"), staff("C")
    staff("Off", available=False)
    staff("Gone", active=False)
    staff("Lead", role="lead")  # leads are not in the rotation
    for n in range(1, 10):
        answer(n=n, score=2)
    owners = _owners(engine)
    assert Counter(owners) == {a.id: 3, b.id: 3, c.id: 3}
    assert owners[:3] == [a.id, b.id, c.id] and owners[3:6] == owners[:3]  # strict rotation


def test_a_newcomer_is_next_and_the_rotation_continues(engine, answer, staff):  # type: ignore[no-untyped-def]
    a, b = staff("A"), staff("B")
    for n in range(1, 4):
        answer(n=n, score=2)
    c = staff("C")  # joins with no assignments: waited longest
    for n in range(4, 8):
        answer(n=n, score=2)
    assert _owners(engine) == [a.id, b.id, a.id, c.id, b.id, a.id, c.id]


def test_team_mode_keeps_tasks_in_the_interaction_team(engine, answer, staff, settings):  # type: ignore[no-untyped-def]
    settings.recovery_assignment = "team"
    billing = [staff("B1", team="Billing"), staff("B2", team="Billing")]
    sales = staff("S1", team="Sales")
    for n in range(1, 5):
        answer(n=n, score=2)  # the factory's interactions are Billing's
    answer(n=9, score=2, team="Support")  # no Support member: anyone available
    owners = _owners(engine)
    assert owners[:4] == [billing[0].id, billing[1].id] * 2
    assert owners[4] == sales.id  # the one who waited longest


def test_no_assignment_leaves_tasks_to_be_claimed(engine, answer, staff, settings):  # type: ignore[no-untyped-def]
    settings.recovery_assignment = "none"
    staff("A")
    answer(score=2)
    assert _owners(engine) == [None]


def test_nobody_available_leaves_the_task_new(engine, answer, staff):  # type: ignore[no-untyped-def]
    staff("Off", available=False)
    answer(score=2)
    with Session(engine) as s:
        task = s.exec(select(RecoveryTask)).one()
    assert (task.owner_id, task.status) == (None, "new")
