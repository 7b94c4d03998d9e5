"""Pipeline health that pages a human: a refused Twilio credential pauses SMS (invitations are
held, not failed, and go out after the fix); failure spikes, stalls and an upstream silence
alert; one alert per incident however many workers check; alerts reach a real local HTTP
receiver signed and retried through the notification outbox, and show on admins' home page."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth.service import create_user
from feedback.db import transaction
from feedback.health.models import PipelineAlert
from feedback.health.tasks import check_pipeline
from feedback.integrations import signing
from feedback.integrations.service import sync_settings_endpoints
from feedback.notifications.delivery import deliver_due
from feedback.notifications.models import Notification
from feedback.worker import JobContext
from outreach.channels.base import OutboundMessage, SendResult, TransientSendError
from outreach.channels.factory import build_channels
from outreach.models import ChannelPause, ContactEvent
from surveys.models import Interaction, Invitation
from tests.factories import make_invitation
from tests.support.prism import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, free_port

SECRET = "alert-hmac-secret"


@dataclass
class Receiver:
    """A real HTTP server on loopback: answers each POST with the next scripted status."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            rec.received.append((dict(self.headers), body))
            self.send_response(rec.statuses.pop(0) if rec.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server, base = _serve(Handler)
    rec.url = base + "/alerts"
    yield rec
    server.shutdown()
    server.server_close()


@dataclass
class Twilio:
    """Answers Messages.json like Twilio: 401 / error 20003 while `bad_credentials`."""

    url: str = ""
    bad_credentials: bool = True
    posts: int = 0


@pytest.fixture
def twilio() -> Iterator[Twilio]:
    state = Twilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.posts += 1
            if state.bad_credentials:
                status, body = 401, {"code": 20003, "message": "Authenticate", "status": 401}
            else:
                status, body = 201, {"sid": f"SM{state.posts:032d}", "status": "queued"}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server, state.url = _serve(Handler)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def conf(settings: Any, receiver: Receiver) -> Any:
    return settings.model_copy(update={
        "dispatch_alert_webhook_url": receiver.url, "recovery_webhook_secret": SECRET,
        "notification_retry_seconds": 1.0})


def _alerts(engine: Any, kind: str | None = None) -> list[PipelineAlert]:
    with Session(engine) as s:
        stmt = select(PipelineAlert).order_by(PipelineAlert.id)  # type: ignore[arg-type]
        if kind:
            stmt = stmt.where(PipelineAlert.kind == kind)
        return list(s.exec(stmt).all())


def _invitations(engine: Any) -> list[Invitation]:
    with Session(engine) as s:
        return list(s.exec(select(Invitation).order_by(Invitation.id)).all())  # type: ignore[arg-type]


def test_a_refused_twilio_credential_pauses_sms_alerts_once_and_resumes_after_the_fix(
        session, conf, clock, engine, make_dispatcher, receiver, twilio, client) -> None:  # type: ignore[no-untyped-def]
    twilio_conf = conf.model_copy(update={
        "twilio_account_sid": TEST_ACCOUNT_SID, "twilio_auth_token": TEST_AUTH_TOKEN,
        "twilio_from_number": "+15005550006", "twilio_base_url": twilio.url})
    with transaction(engine) as s:
        create_user(s, email="ada@example.com", name="Ada", role="admin", password="s3cret-pass")
        # What start-up does with these settings: the alert URL becomes a `pipeline.alert`
        # subscription (after `client`, whose app started with settings that have none).
        sync_settings_endpoints(s, conf, clock.now)
    for n in (1, 2, 3):
        make_invitation(session, conf, clock(), n=n, customer={"phone": f"+1415555010{n}"})
    clock.advance(minutes=31)
    # One row at a time: with rows sent side by side (PostgreSQL, dispatch_concurrency) the
    # rows already in flight each get their own refusal too — at most that many requests.
    dispatcher = make_dispatcher(build_channels(twilio_conf), concurrency=1)
    assert dispatcher.run_once().counts == {"held": 3}
    assert twilio.posts == 1  # one refusal paused the channel: the others were not tried
    held = _invitations(engine)
    assert {(i.status, i.status_reason, i.attempts) for i in held} == {("scheduled", "channel_paused", 0)}

    # Two workers check at once: one alert, one webhook, one e-mail to the admin.
    workers = [JobContext(engine=engine, settings=twilio_conf, clock=clock, worker_id=f"w{n}")
               for n in (1, 2)]
    threads = [threading.Thread(target=check_pipeline, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check_pipeline(workers[0])
    [alert] = _alerts(engine)
    assert alert.kind == "channel_config" and alert.open_key == "channel_config:sms"
    assert "20003" in alert.summary or "Authenticate" in alert.summary

    # The receiver is down at first: the outbox retries; the POST is Standard-Webhooks-signed.
    receiver.statuses = [503]
    report = deliver_due(engine, twilio_conf, clock, worker="n1")
    assert report.retried == 1 and report.sent == 1  # the admin's e-mail (dev outbox) went
    clock.advance(seconds=5)
    assert deliver_due(engine, twilio_conf, clock, worker="n1").sent == 1
    headers, body = receiver.received[-1]
    assert signing.verify(signing.secret_from_text(SECRET), headers, body)
    payload = json.loads(body)
    assert payload["type"] == "pipeline.alert" and payload["data"]["state"] == "opened"
    assert payload["data"]["alert"]["id"] == alert.id
    with Session(engine) as s:
        emails = s.exec(select(Notification).where(Notification.kind == "email")).all()
        assert [e.target for e in emails] == ["ada@example.com"]

    # The admin sees it on the home page until it is resolved.
    from tests.recovery.conftest import sign_in

    sign_in(client, "ada@example.com")
    assert "SMS is paused" in client.get("/").text

    # Fixed: the next probe goes through and every held invitation goes out.
    twilio.bad_credentials = False
    clock.advance(minutes=5)
    assert make_dispatcher(build_channels(twilio_conf)).run_once()["sent"] == 3
    assert {i.status for i in _invitations(engine)} == {"sent"}
    check_pipeline(workers[1])
    [alert] = _alerts(engine)
    assert alert.open_key is None and alert.resolved_by == "health check"
    assert "SMS is paused" not in client.get("/").text
    deliver_due(engine, twilio_conf, clock, worker="n1")
    resolved = json.loads(receiver.received[-1][1])
    assert resolved["type"] == "pipeline.alert" and resolved["data"]["state"] == "resolved"


def test_an_admin_resolving_the_alert_resumes_the_channel(
        session, conf, clock, engine, make_dispatcher, twilio, client) -> None:  # type: ignore[no-untyped-def]
    twilio_conf = conf.model_copy(update={
        "twilio_account_sid": TEST_ACCOUNT_SID, "twilio_auth_token": TEST_AUTH_TOKEN,
        "twilio_from_number": "+15005550006", "twilio_base_url": twilio.url})
    make_invitation(session, conf, clock())
    clock.advance(minutes=31)
    make_dispatcher(build_channels(twilio_conf)).run_once()
    check_pipeline(JobContext(engine=engine, settings=twilio_conf, clock=clock))
    [alert] = _alerts(engine)
    client.headers["Authorization"] = "Bearer test-admin-key"
    assert [a["id"] for a in client.get("/api/health/alerts").json()["alerts"]] == [alert.id]
    r = client.post(f"/api/health/alerts/{alert.id}/resolve")
    assert r.status_code == 200 and r.json()["open"] is False
    with Session(engine) as s:
        assert s.exec(select(ChannelPause)).all() == []
        inv = s.exec(select(Invitation)).one()
        assert inv.send_at == clock()  # held no longer: due now
    assert client.post("/api/health/alerts/999/resolve").status_code == 404


class _Flaky:
    name = "sms"

    def send(self, msg: OutboundMessage) -> SendResult:
        raise TransientSendError("HTTP 503 from the provider")


def test_a_failure_rate_spike_alerts(session, conf, clock, engine, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    for n in range(1, 11):
        make_invitation(session, conf, clock(), n=n, customer={"phone": f"+141555501{n:02d}"})
    clock.advance(minutes=31)
    assert make_dispatcher({"sms": _Flaky(), "email": _Flaky()}).run_once()["retried"] == 10
    check_pipeline(JobContext(engine=engine, settings=conf, clock=clock))
    [alert] = _alerts(engine)
    assert alert.key == "failure_rate:sms" and "10/10" in alert.summary
    clock.advance(minutes=31)  # the window passes quietly: resolved
    with transaction(engine) as s:  # (the retries are no longer due before the window ends)
        s.execute(sa.update(Invitation).values(status="expired"))
    check_pipeline(JobContext(engine=engine, settings=conf, clock=clock))
    assert _alerts(engine)[0].open_key is None


def test_no_interactions_for_n_hours_alerts_per_source(session, conf, clock, engine) -> None:  # type: ignore[no-untyped-def]
    quiet = conf.model_copy(update={"health_ingest_silence_hours": {"*": 6, "chat": 2}})
    make_invitation(session, conf, clock())  # a phone interaction
    with transaction(engine) as s:
        s.execute(sa.update(Interaction).values(created_at=clock()))
    ctx = JobContext(engine=engine, settings=quiet, clock=clock)
    clock.advance(hours=5)
    check_pipeline(ctx)
    assert _alerts(engine, "ingest_silence") == []  # no chat ever: not an outage; phone 5 h < 6 h
    clock.advance(hours=1)
    check_pipeline(ctx)
    [alert] = _alerts(engine, "ingest_silence")
    assert alert.key == "ingest_silence:*" and "for 6 h" in alert.summary
    make_invitation(session, conf, clock(), n=2)
    with transaction(engine) as s:
        s.execute(sa.update(Interaction).where(Interaction.id == 2).values(created_at=clock()))  # type: ignore[arg-type]
    check_pipeline(ctx)
    assert _alerts(engine, "ingest_silence")[0].resolved_at == clock()


def test_a_stalled_dispatcher_alerts_once(session, conf, clock, engine) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        sync_settings_endpoints(s, conf, clock.now)
    make_invitation(session, conf, clock())
    ctx = JobContext(engine=engine, settings=conf, clock=clock)
    clock.advance(minutes=30 + 31)  # due (after the 30 min delay) for 31 min, nothing sent
    for _ in range(3):
        check_pipeline(ctx)
    [alert] = _alerts(engine)
    assert alert.key == "dispatch_stalled"
    with Session(engine) as s:
        [event] = s.exec(select(Notification)).all()  # the webhook; no admin exists
        assert event.kind == "event" and event.payload["type"] == "pipeline.alert"
        assert s.exec(select(ContactEvent)).all() == []


def test_answers_waiting_for_their_follow_ups_alert_until_a_worker_runs_them(  # type: ignore[no-untyped-def]
        session, conf, clock, engine) -> None:
    from feedback.responses import record_response
    from tests.support.followups import run_followups

    inv = make_invitation(session, conf, clock())
    record_response(session, inv, score=2, comment="slow", source="web", now=clock(),
                    settings=conf)
    session.commit()
    ctx = JobContext(engine=engine, settings=conf, clock=clock)
    clock.advance(minutes=4)
    check_pipeline(ctx)
    assert _alerts(engine, "followups_behind") == []  # late, but under the 5 min alarm
    clock.advance(minutes=2)
    check_pipeline(ctx)
    [alert] = _alerts(engine, "followups_behind")
    assert "1 answer(s) wait" in alert.summary and "is a worker running?" in alert.summary
    assert run_followups(engine, conf, clock) == 1
    check_pipeline(ctx)
    assert _alerts(engine, "followups_behind")[0].resolved_at == clock()
