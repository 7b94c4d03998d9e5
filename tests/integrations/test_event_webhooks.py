"""Event webhooks end to end, through a real HTTP receiver on 127.0.0.1: every event type
delivered once and signed (Standard Webhooks), a receiver that is down then up gets every
event once and in order, secret rotation, disabling after a day of failure, SSRF refusals."""

from __future__ import annotations

import random
import time
from typing import Any

from sqlmodel import Session, select

from feedback import i18n
from feedback.db import transaction
from feedback.health.service import Finding, open_alert
from feedback.integrations import signing
from feedback.integrations.events import EVENT_TYPES, emit
from feedback.integrations.models import WebhookAttempt, WebhookEndpoint
from feedback.integrations.tasks import daily_themes
from feedback.notifications.models import Notification
from feedback.recovery.models import RecoveryTask
from feedback.recovery.tasks import scan_sla
from feedback.responses import record_response
from outreach.channels.base import PermanentSendError
from outreach.channels.factory import build_channels
from outreach.devoutbox import DevOutboxStore
from outreach.dispatch import Dispatcher, DispatchPolicy
from outreach.messages import Site
from surveys.models import Invitation
from tests.integrations.conftest import event_rows
from tests.support.followups import run_followups


def _verified(received: list[Any], secret: str) -> list[dict[str, Any]]:
    out = []
    for r in received:
        assert signing.verify(secret, r.headers, r.body, now=int(time.time())), r.headers
        assert r.headers["webhook-id"] == r.json["id"]
        out.append(r.json)
    return out


class _Refusing:
    name = "email"

    def send(self, msg: Any) -> Any:
        raise PermanentSendError("mailbox does not exist", 550, kind="invalid_recipient")


def _dispatcher(engine: Any, settings: Any, clock: Any, *, failing: bool = False) -> Dispatcher:
    from feedback.integrations.events import emit_conn

    channels = dict(build_channels(settings, DevOutboxStore(engine, clock)))
    if failing:
        channels["sms"] = channels["email"] = _Refusing()  # type: ignore[assignment]
    return Dispatcher(engine, channels, i18n, Site(settings.public_url, settings.company_name,
                                                   settings.secret_key),
                      DispatchPolicy.from_settings(settings), worker="w", clock=clock,
                      rng=random.Random(1), events=emit_conn)


def test_every_event_type_is_delivered_once_signed_and_in_order(
        engine, settings, clock, api, receiver, endpoint, deliver, staff, answer, session):  # type: ignore[no-untyped-def]
    receiver.start()
    secret = endpoint()["secret"]
    staff("Rita", team="Billing")  # recovery tasks get an owner: task.assigned
    # interaction.created, response.created, task.created, task.assigned
    response = answer(score=2, comment="Waited an hour. Call me on +1 415 555 0100")
    # survey.sent and survey.failed: two more interactions, dispatched by the worker's code
    for n, failing in ((2, False), (3, True)):
        r = api.post("/api/interactions", json={
            "external_id": f"T-{n}", "channel": "phone",
            "occurred_at": (clock.now).isoformat(), "agent": "Ana", "team": "Billing",
            "customer": {"external_id": f"C-{n}", "email": f"c{n}@example.com"}})
        assert r.status_code == 201, r.text
        clock.advance(hours=1)
        _dispatcher(engine, settings, clock, failing=failing).run_once()
    # task.sla_warning, then task.sla_breached (first contact: 80 % of 24 h, then 24 h)
    assert scan_sla(engine, settings, clock.advance(hours=18)).warnings == 1
    assert scan_sla(engine, settings, clock.advance(hours=5)).breaches == 1
    task = session.exec(select(RecoveryTask)).one()
    assert api.post(f"/api/recovery/tasks/{task.id}/contact-attempts",
                    json={"channel": "call", "result": "reached"}).status_code == 201
    r = api.post(f"/api/recovery/tasks/{task.id}/resolve",
                 json={"outcome": "recovered", "root_cause": "wait time"})  # task.resolved
    assert r.status_code == 200, r.text
    session.expire_all()
    followup = session.get(Invitation, session.get(RecoveryTask, task.id).followup_invitation_id)
    record_response(session, followup, score=9, comment=None, source="web", now=clock.now,
                    settings=settings)  # followup.answered
    session.commit()
    run_followups(engine, settings, clock)
    assert daily_themes(engine, clock.now.replace(hour=9)) is not None  # themes.daily
    with transaction(engine) as s:  # pipeline.alert (health's rules are tested in tests/health)
        assert open_alert(s, Finding("dispatch_stalled", "dispatch_stalled", "Dispatch stalled"),
                          settings, clock.now)

    deliver()
    got = _verified(receiver.received, secret)
    assert sorted(e["type"] for e in got) == sorted(
        list(EVENT_TYPES) + ["interaction.created"] * 2 + ["response.created"])  # 3 interactions, 2 answers
    assert len({e["id"] for e in got}) == len(got)  # each event once
    first = [e for e in got if e["subject"] == f"customer:{response.customer_id}"]
    order = [e["type"] for e in first]
    assert order[:4] == ["interaction.created", "response.created", "task.created", "task.assigned"]
    assert order.index("task.sla_warning") < order.index("task.sla_breached") < order.index("task.resolved")
    created = next(e for e in got if e["type"] == "response.created" and e["data"]["response"]["comment"])
    assert created["data"]["response"]["score_class"] == "detractor"
    assert "555 0100" not in created["data"]["response"]["comment"]  # redacted per the privacy rules
    assert created["version"] == 1 and created["data"]["response"]["themes"] is not None
    task_created = next(e for e in got if e["type"] == "task.created")
    assert task_created["data"]["task"]["url"] == f"{settings.public_url}/queue/{task.id}"
    failed = next(e for e in got if e["type"] == "survey.failed")
    assert failed["data"]["reason"] == "invalid_recipient"
    deliver()
    assert len(receiver.received) == len(got)  # nothing twice


def test_receiver_down_then_up_gets_every_event_once_in_order(engine, settings, clock, endpoint, receiver, deliver):  # type: ignore[no-untyped-def]
    secret = endpoint(["task.created"])["secret"]
    with transaction(engine) as s:
        for i in range(6):
            emit(s, "task.created", f"customer:{i % 2}", {"n": i}, clock.now)
    deliver()  # nothing listens: one try per subject, the rest wait behind it
    rows = event_rows(engine)
    assert [r.attempts for r in rows] == [1, 1, 0, 0, 0, 0]
    assert all("ConnectError" in (r.last_error or "") for r in rows[:2])
    receiver.start()
    assert deliver() == 0  # not before the retry time
    for _ in range(3):
        clock.advance(minutes=5)
        deliver()
    got = _verified(receiver.received, secret)
    assert len(got) == 6 and len({e["id"] for e in got}) == 6
    for subject in ("customer:0", "customer:1"):
        assert [e["data"]["n"] for e in got if e["subject"] == subject] == sorted(
            e["data"]["n"] for e in got if e["subject"] == subject)
    assert {r.status for r in event_rows(engine)} == {"sent"}
    clock.advance(days=2)
    assert deliver() == 0


def test_a_later_event_waits_while_an_earlier_one_of_its_subject_is_retried(engine, clock, endpoint, receiver, deliver):  # type: ignore[no-untyped-def]
    endpoint(["task.created"])
    receiver.start()
    receiver.status = 503
    with transaction(engine) as s:
        emit(s, "task.created", "customer:1", {"n": 1}, clock.now)
    deliver()
    receiver.status = 200
    with transaction(engine) as s:
        emit(s, "task.created", "customer:1", {"n": 2}, clock.now)
        emit(s, "task.created", "customer:2", {"n": 3}, clock.now)
    deliver()
    assert [r.json["data"]["n"] for r in receiver.received] == [3]  # n=2 waits behind n=1
    clock.advance(minutes=2)
    deliver()
    assert [r.json["data"]["n"] for r in receiver.received] == [3, 1, 2]


def test_secret_rotation_signs_with_both_secrets_during_the_overlap(engine, clock, api, endpoint, receiver, deliver):  # type: ignore[no-untyped-def]
    receiver.start()
    ep = endpoint(["task.created"])
    r = api.post(f"/api/integrations/endpoints/{ep['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != ep["secret"] and new.startswith("whsec_") and r.json()["rotating_until"]
    with transaction(engine) as s:
        emit(s, "task.created", "customer:1", {}, clock.now)
    deliver()
    [msg] = receiver.received
    assert len(msg.headers["webhook-signature"].split(" ")) == 2
    assert signing.verify(ep["secret"], msg.headers, msg.body)
    assert signing.verify(new, msg.headers, msg.body)
    assert not signing.verify(signing.new_secret(), msg.headers, msg.body)
    assert not signing.verify(new, msg.headers, msg.body + b" ")
    clock.advance(hours=25)  # the overlap is over: only the new secret signs
    with transaction(engine) as s:
        emit(s, "task.created", "customer:2", {}, clock.now)
    deliver()
    last = receiver.received[-1]
    assert signing.verify(new, last.headers, last.body)
    assert not signing.verify(ep["secret"], last.headers, last.body)


def test_an_endpoint_failing_for_a_day_is_disabled_admins_told_and_replay_works(
        engine, settings, clock, api, endpoint, receiver, deliver, staff):  # type: ignore[no-untyped-def]
    admin = staff("Ada", role="admin")
    ep = endpoint(["task.created"])
    receiver.start()
    receiver.status = 500
    with transaction(engine) as s:
        emit(s, "task.created", "customer:1", {"n": 1}, clock.now)
        emit(s, "task.created", "customer:2", {"n": 2}, clock.now)
    deliver()
    for _ in range(12):  # backoff is capped at 6 h: a day of tries
        clock.advance(hours=3)
        deliver()
    with Session(engine) as s:
        row = s.get(WebhookEndpoint, ep["id"])
        assert not row.active and "failed for 24 h" in row.disabled_reason
        mails = s.exec(select(Notification).where(Notification.kind == "email")).all()
        assert [m.target for m in mails] == [admin.email] and "disabled" in mails[0].subject
        attempts = s.exec(select(WebhookAttempt)).all()
        assert attempts and not any(a.ok for a in attempts)
        assert {a.status_code or a.error for a in attempts} <= {500, "the endpoint is disabled or deleted"}
    assert {r.status for r in event_rows(engine)} == {"failed"}
    clock.advance(hours=24)
    assert deliver() == 0  # a disabled endpoint gets nothing more
    receiver.status = 200
    assert api.put(f"/api/integrations/endpoints/{ep['id']}", json={"active": True}).status_code == 200
    r = api.post(f"/api/integrations/endpoints/{ep['id']}/replay",
                 json={"failed_since": "2000-01-01T00:00:00Z"})
    assert r.json() == {"replayed": 2}
    assert deliver() == 2
    assert sorted(x.json["data"]["n"] for x in receiver.received) == [1, 2]
    log = api.get(f"/api/integrations/endpoints/{ep['id']}/deliveries").json()["items"]
    assert all(d["status"] == "sent" and d["log"][-1]["status_code"] == 200 for d in log)


def test_test_event_and_the_delivery_log(api, endpoint, receiver, deliver):  # type: ignore[no-untyped-def]
    receiver.start()
    ep = endpoint(["task.created"])
    r = api.post(f"/api/integrations/endpoints/{ep['id']}/test")
    assert r.status_code == 202
    assert deliver() == 1
    [msg] = receiver.received
    assert msg.json["type"] == "webhook.test" and msg.json["id"] == r.json()["event_id"]
    [d] = api.get(f"/api/integrations/endpoints/{ep['id']}/deliveries").json()["items"]
    assert d["status"] == "sent" and d["log"][0]["status_code"] == 200 and d["log"][0]["ok"]


def test_private_destinations_are_refused_when_saved_and_when_sent(engine, settings, clock, api, receiver, deliver):  # type: ignore[no-untyped-def]
    settings.webhooks_allow_private = False
    for url in (receiver.url(), "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest",
                "http://localhost:8000/", "ftp://example.com/x", "http://user:pw@example.com/"):
        r = api.post("/api/integrations/endpoints", json={"name": "x", "url": url})
        assert r.status_code == 422 and r.json()["field"] == "url", (url, r.text)
    settings.webhooks_allow_private = True
    receiver.start()
    ep = api.post("/api/integrations/endpoints", json={"name": "x", "url": receiver.url()}).json()
    settings.webhooks_allow_private = False  # e.g. the name now resolves inward (DNS rebinding)
    with transaction(engine) as s:
        emit(s, "task.created", "customer:1", {}, clock.now)
    assert deliver() == 0
    assert receiver.received == []
    [row] = event_rows(engine)
    # Failed at once (no 24 h of retries against an inward address), and replayable.
    assert row.status == "failed" and "refused" in row.last_error and row.attempts == 1
    [d] = api.get(f"/api/integrations/endpoints/{ep['id']}/deliveries").json()["items"]
    assert d["status"] == "failed" and not d["log"][0]["ok"]


def test_nobody_listening_writes_nothing(engine, clock):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        assert emit(s, "task.created", "customer:1", {}, clock.now) is None
    assert event_rows(engine) == []


def test_endpoint_input_is_checked(api):  # type: ignore[no-untyped-def]
    r = api.post("/api/integrations/endpoints", json={"name": "x", "url": "http://127.0.0.1/",
                                                       "event_types": ["nope"]})
    assert r.status_code == 422 and r.json()["field"] == "event_types"
    assert api.put("/api/integrations/endpoints/999", json={"name": "y"}).status_code == 404
    assert api.post("/api/integrations/endpoints/999/test").status_code == 404


