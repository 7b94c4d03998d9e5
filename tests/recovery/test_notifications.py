"""Escalations leave through a real HTTP server on 127.0.0.1: the settings' breach webhook and
Slack URLs are `task.sla_breached` subscriptions of the event system (Standard Webhooks
signatures keyed with FEEDBACK_RECOVERY_WEBHOOK_SECRET), and a receiver that is down and then
up gets the message later — never lost."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from feedback.db import transaction
from feedback.integrations import signing
from feedback.integrations.service import sync_settings_endpoints
from feedback.notifications.delivery import deliver_due
from feedback.notifications.models import Notification
from feedback.recovery.tasks import scan_sla

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def breached(engine, settings, clock, answer, staff, receiver):  # type: ignore[no-untyped-def]
    """One task whose first-contact deadline passed, escalated to the webhook and Slack."""
    settings.recovery_webhook_url = receiver.url("/hook")
    settings.recovery_slack_webhook_url = receiver.url("/slack")
    settings.recovery_webhook_secret = SECRET
    settings.notification_retry_seconds = 30
    with transaction(engine) as s:  # what start-up does (feedback.app.prepare_database)
        sync_settings_endpoints(s, settings, clock.now)
    staff("Lena", role="lead")
    answer(score=3)
    assert scan_sla(engine, settings, clock.advance(hours=25)).breaches == 1


def _http_notes(engine):  # type: ignore[no-untyped-def]
    """The event deliveries by endpoint kind ("webhook", "slack")."""
    from feedback.integrations.models import WebhookEndpoint

    with Session(engine) as s:
        kinds = {e.id: e.kind for e in s.exec(select(WebhookEndpoint)).all()}
        return {kinds[n.endpoint_id]: n for n in s.exec(select(Notification)
                                                        .where(Notification.kind == "event")).all()}


def _deliver(engine, settings, clock):  # type: ignore[no-untyped-def]
    return deliver_due(engine, settings, clock, worker="test-worker")


def test_receiver_down_then_up_gets_each_message_once(engine, settings, clock, receiver, breached):  # type: ignore[no-untyped-def]
    report = _deliver(engine, settings, clock)  # nothing listens on the port yet
    assert report.retried == 2 and report.sent == 1  # the lead's email is logged, not HTTP
    notes = _http_notes(engine)
    assert {n.status for n in notes.values()} == {"pending"}
    assert all("ConnectError" in (n.last_error or "") for n in notes.values())
    receiver.start()
    assert _deliver(engine, settings, clock).sent == 0  # not before the retry time
    clock.advance(seconds=31)  # the first retry comes within 15–30 s
    assert _deliver(engine, settings, clock).sent == 2
    clock.advance(hours=1)
    assert _deliver(engine, settings, clock).sent == 0  # nothing twice
    assert sorted(r.path for r in receiver.received) == ["/hook", "/slack"]
    notes = _http_notes(engine)
    assert {(n.status, n.attempts) for n in notes.values()} == {("sent", 2)}


def test_generic_webhook_is_signed_json_and_slack_gets_text(engine, settings, clock, receiver, breached):  # type: ignore[no-untyped-def]
    receiver.start()
    _deliver(engine, settings, clock)
    got = {r.path: (r.headers, r.body) for r in receiver.received}
    headers, body = got["/hook"]
    key = signing.secret_from_text(SECRET)  # the settings' secret is the HMAC key, as before
    assert signing.verify(key, headers, body)
    assert not signing.verify(key, headers, body + b" ")
    assert not signing.verify(signing.secret_from_text("another-secret"), headers, body)
    event = json.loads(body)
    assert event["type"] == "task.sla_breached" and event["data"]["window"] == "first_contact"
    task = event["data"]["task"]
    assert task["id"] and task["url"].endswith(f"/queue/{task['id']}")
    assert headers["webhook-id"] == event["id"]
    slack = json.loads(got["/slack"][1])
    assert list(slack) == ["text"]  # Slack incoming webhooks take {"text": ...}
    assert "missed its first contact deadline" in slack["text"] and "|Open the task>" in slack["text"]


def test_server_errors_are_retried_and_refusals_are_not(engine, settings, clock, receiver, breached):  # type: ignore[no-untyped-def]
    receiver.start()
    receiver.status = 503
    assert _deliver(engine, settings, clock).retried == 2
    receiver.status = 400
    clock.advance(seconds=31)
    report = _deliver(engine, settings, clock)
    assert report.failed == 2 and "HTTP 400" in report.errors[0]
    assert {n.status for n in _http_notes(engine).values()} == {"failed"}
    clock.advance(days=1)
    assert _deliver(engine, settings, clock).sent == 0


def test_a_receiver_down_for_good_is_retried_for_a_day_then_given_up(engine, settings, clock, breached):  # type: ignore[no-untyped-def]
    settings.notification_max_attempts = 3  # e-mail's limit; events are retried for 24 h
    for _ in range(3):
        _deliver(engine, settings, clock)
        clock.advance(minutes=10)
    assert {n.status for n in _http_notes(engine).values()} == {"pending"}
    for _ in range(10):
        clock.advance(hours=3)
        _deliver(engine, settings, clock)
    notes = _http_notes(engine)
    assert {n.status for n in notes.values()} == {"failed"}
    assert all(n.attempts > 3 and n.last_error for n in notes.values())


def test_staff_email_without_smtp_lands_in_the_dev_outbox(engine, settings, clock):  # type: ignore[no-untyped-def]
    """No SMTP configured: an escalation e-mail is recorded where a newcomer looks (/outbox),
    not only logged."""
    from feedback.db import transaction
    from feedback.notifications.outbox import enqueue
    from outreach.models import DevOutboxMessage

    with transaction(engine) as s:
        enqueue(s, kind="email", target="lead@example.com", dedupe_key="esc-1", now=clock.now,
                subject="Task 7 breached its first-contact window", body="Call the customer.")
    report = deliver_due(engine, settings, clock, worker="w1")
    assert report.sent == 1
    with Session(engine) as s:
        row = s.exec(select(DevOutboxMessage)).one()
        assert (row.channel, row.to, row.subject) == (
            "email", "lead@example.com", "Task 7 breached its first-contact window")
