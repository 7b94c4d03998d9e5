"""The SLA watcher: a warning at 80 % and an escalation on breach, each sent exactly once —
with one worker scanning again and again, and with two workers racing on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.notifications.models import Notification
from feedback.notifications.outbox import enqueue_many
from feedback.recovery import alerts
from feedback.recovery.models import RecoveryEvent, RecoveryTask
from feedback.recovery.tasks import scan_sla


def _configure(engine, settings, clock):  # type: ignore[no-untyped-def]
    """What start-up does with the settings' breach webhook / Slack URLs: subscriptions."""
    from feedback.db import transaction
    from feedback.integrations.service import sync_settings_endpoints

    with transaction(engine) as s:
        sync_settings_endpoints(s, settings, clock.now)


def _notes(engine):  # type: ignore[no-untyped-def]
    """The messages owed (an answer's own follow-up row is not one)."""
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.kind != "followup")
                           .order_by(Notification.id)).all())


def _events(engine, action):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(RecoveryEvent).where(RecoveryEvent.action == action)).all())


def _task(engine):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(RecoveryTask)).one()


def test_warning_at_80_percent_goes_to_the_owner_once(engine, settings, clock, answer, staff):  # type: ignore[no-untyped-def]
    owner = staff("Rita", team="Billing")
    staff("Lena", role="lead", team="Billing")
    answer(score=3)
    task = _task(engine)
    assert task.owner_id == owner.id
    assert scan_sla(engine, settings, clock.advance(hours=19)).warnings == 0  # 79 %
    report = scan_sla(engine, settings, clock.advance(hours=1))  # 83 % of the first 24 h
    assert (report.warnings, report.breaches, report.notifications) == (1, 0, 1)
    for _ in range(3):  # the next scans find nothing new
        assert scan_sla(engine, settings, clock.advance(minutes=1)).notifications == 0
    [note] = _notes(engine)
    assert note.kind == "email" and note.target == owner.email
    assert "due soon" in note.subject and note.payload["event"] == "recovery.sla_warning"
    assert len(_events(engine, "warning")) == 1


def test_breach_escalates_to_the_team_lead_webhook_and_slack_once(engine, settings, clock, answer, staff):  # type: ignore[no-untyped-def]
    settings.recovery_webhook_url = "http://127.0.0.1:9/hook"
    settings.recovery_slack_webhook_url = "http://127.0.0.1:9/slack"
    _configure(engine, settings, clock)
    settings.recovery_escalation_emails = ["cx-director@example.com"]
    owner = staff("Rita", team="Billing")
    lead = staff("Lena", role="lead", team="Billing")
    staff("Other lead", role="lead", team="Sales")  # not this team's lead
    answer(score=3)
    # The scan runs late: the warning is moot, only the breach is sent.
    report = scan_sla(engine, settings, clock.advance(hours=25))
    assert (report.warnings, report.breaches) == (0, 1)
    notes = _notes(engine)
    by_kind = {(n.kind, n.target) for n in notes if n.kind == "email"}
    assert by_kind == {("email", lead.email), ("email", "cx-director@example.com"),
                       ("email", owner.email)}
    # The webhook and Slack hear of it as task.sla_breached events, one per endpoint.
    assert sorted((n.subject, n.endpoint_id) for n in notes if n.kind == "event") == [
        ("task.sla_breached", 1), ("task.sla_breached", 2)]
    task = _task(engine)
    assert task.first_contact_breached_at == clock.now and task.first_contact_warned_at == clock.now
    assert task.sla_next_at == task.resolution_warn_at  # next: the resolution window
    assert scan_sla(engine, settings, clock.advance(hours=1)).notifications == 0
    assert len(_notes(engine)) == len(notes)
    # The resolution window is handled separately: warning at 80 % of 48 h, then its breach.
    assert scan_sla(engine, settings, clock.advance(hours=13)).warnings == 1
    assert scan_sla(engine, settings, clock.advance(hours=10)).breaches == 1
    assert scan_sla(engine, settings, clock.advance(hours=10)).tasks == 0
    assert [e.to_value for e in _events(engine, "breach")] == ["first_contact", "resolution"]


def test_a_contact_in_time_cancels_the_first_contact_breach(engine, settings, clock, answer, api):  # type: ignore[no-untyped-def]
    answer(score=3)
    task = _task(engine)
    clock.advance(hours=2)
    r = api.post(f"/api/recovery/tasks/{task.id}/contact-attempts",
                 json={"channel": "call", "result": "reached", "note": "apologised"})
    assert r.status_code == 201, r.text
    assert scan_sla(engine, settings, clock.advance(hours=30)).tasks == 0  # 32 h: nothing due
    report = scan_sla(engine, settings, clock.advance(hours=7))  # 39 h: 80 % of 48 h passed
    assert report.breaches == 0 and report.warnings == 1  # only the resolution warning
    assert _task(engine).first_contact_breached_at is None


def test_enqueueing_the_same_escalation_twice_is_a_no_op(engine, settings, clock, answer, staff):  # type: ignore[no-untyped-def]
    staff("Lena", role="lead")
    staff("Lou", role="lead")
    answer(score=3)
    with Session(engine) as s:
        task, leads = s.exec(select(RecoveryTask)).one(), alerts.active_leads(s)
        rows = alerts.escalation(s, task, "first_contact", now=clock.now, settings=settings, leads=leads)
        assert enqueue_many(s, rows) == 2
        assert enqueue_many(s, rows + rows) == 0
        s.commit()
    assert len(_notes(engine)) == 2


def test_two_workers_racing_send_each_warning_and_escalation_once(engine, settings, clock, answer, staff):  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("the race is about PostgreSQL row locks; SQLite has a single writer")
    settings.recovery_webhook_url = "http://127.0.0.1:9/hook"
    _configure(engine, settings, clock)
    staff("Lena", role="lead")
    n_tasks = 24
    for n in range(1, n_tasks + 1):
        answer(n=n, score=3)
    now = clock.advance(hours=25)  # every task breached its first-contact window
    barrier = threading.Barrier(4)
    reports, errors = [], []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(scan_sla(engine, settings, now, batch=3))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(r.breaches for r in reports) == n_tasks
    assert sum(r.tasks for r in reports) == n_tasks
    with engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT dedupe_key FROM notification "
                                    "WHERE kind <> 'followup'")).scalars().all()
    assert len(keys) == len(set(keys)) == 2 * n_tasks  # the lead's email and the webhook
    assert len(_events(engine, "breach")) == n_tasks
    # And once more, sequentially: nothing left to do.
    assert scan_sla(engine, settings, now).tasks == 0


def test_finished_tasks_are_never_warned(engine, settings, clock, answer, api):  # type: ignore[no-untyped-def]
    answer(score=3)
    task = _task(engine)
    api.post(f"/api/recovery/tasks/{task.id}/contact-attempts", json={"channel": "call", "result": "reached"})
    r = api.post(f"/api/recovery/tasks/{task.id}/resolve",
                 json={"outcome": "recovered", "root_cause": "billing error", "followup": False})
    assert r.status_code == 200, r.text
    assert scan_sla(engine, settings, clock.advance(days=5)).tasks == 0
    assert _notes(engine) == []
