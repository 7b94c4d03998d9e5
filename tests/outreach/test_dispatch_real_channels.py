"""Dispatch through the real channels: the `twilio` client against Prism (Twilio's OpenAPI
contract) and SMTP to a local aiosmtpd server; plus the worker's job wiring and the stall count
(the alerting is tests/health)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from feedback.worker import JobContext, collect_jobs
from outreach import health
from outreach.channels.factory import build_channels
from outreach.tasks import dispatch_due, expire_invitations
from surveys.models import Invitation
from tests.factories import make_invitation
from tests.outreach.conftest import outbox
from tests.support.prism import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN


def reload(engine: Any, inv: Invitation) -> Invitation:
    with Session(engine) as s:
        got = s.get(Invitation, inv.id)
        assert got is not None
        return got


def test_sms_through_the_twilio_client_and_prism(session, settings, clock, engine, prism_url,
                                                 make_dispatcher) -> None:
    twilio = settings.model_copy(update={
        "twilio_account_sid": TEST_ACCOUNT_SID, "twilio_auth_token": TEST_AUTH_TOKEN,
        "twilio_from_number": "+15005550006", "twilio_base_url": prism_url})
    inv = make_invitation(session, settings, clock())
    assert make_dispatcher(build_channels(twilio)).run_once().counts == {"sent": 1}
    got = reload(engine, inv)
    assert got.status == "sent" and got.status_reason is None
    assert got.provider_message_id and got.provider_message_id.startswith("SM")
    assert outbox(engine) == []


def test_email_through_smtp_multipart_with_buttons_and_one_click_unsubscribe(
        session, settings, clock, engine, smtp_server, make_dispatcher) -> None:
    smtp = settings.model_copy(update={"smtp_host": smtp_server.host,
                                       "smtp_port": smtp_server.port, "smtp_security": "none"})
    inv = make_invitation(session, settings, clock(), customer={"phone": None, "locale": "zh-CN"})
    assert make_dispatcher(build_channels(smtp)).run_once().counts == {"sent": 1}
    [mail] = smtp_server.messages
    message = mail.message
    assert mail.rcpt_tos == ["ana1@example.com"]
    assert message["Subject"] == "Acme：我们做得怎么样？"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsub = message["List-Unsubscribe"].strip("<>")
    assert unsub.startswith("http://testserver.local/u/")
    assert reload(engine, inv).provider_message_id == message["Message-ID"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for score in range(0, 11):
        assert f"/s/{inv.token}?score={score}" in html
    assert unsub in text and unsub in html


def test_worker_jobs_dispatch_and_expire(session, settings, clock, engine) -> None:
    assert {"outreach.dispatch", "outreach.expire", "health.check"} <= {
        j.name for j in collect_jobs()}
    ctx = JobContext(engine=engine, settings=settings, clock=clock, worker_id="job-test")
    ctx.extras["channels"] = {}  # the notification outbox's cache shares the context's extras
    inv = make_invitation(session, settings, clock())
    assert dispatch_due(ctx).counts == {"sent": 1}
    assert outbox(engine)[0].marker == inv.token  # the dev outbox store is wired in
    clock.advance(days=8)
    assert expire_invitations(ctx) == 1


def test_job_context_without_a_catalog_is_refused(settings, engine, clock) -> None:
    ctx = JobContext(engine=engine, settings=settings, clock=clock, extras={})
    with pytest.raises(RuntimeError, match="catalog"):
        dispatch_due(ctx)


def test_health_is_quiet_while_sending_keeps_up(session, settings, clock, engine,
                                                make_dispatcher) -> None:
    make_invitation(session, settings, clock(), n=1)
    make_dispatcher().run_once()
    make_invitation(session, settings, clock() + timedelta(minutes=5), n=2,
                    customer={"phone": "+14155550155"})
    clock.advance(minutes=40)
    assert not health.check(engine, clock(), timedelta(minutes=60)).stalled


def test_demo_leaves_fresh_invitations_for_the_worker_to_send_to_the_dev_outbox(
        tmp_path) -> None:
    from feedback.app import prepare_database
    from feedback.db import make_engine
    from feedback.demo import ensure_demo_data
    from feedback.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", demo=True,
                        dispatch_quiet_hours_channels=[])
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    ensure_demo_data(engine, settings, interactions=200)
    dispatch_due(JobContext(engine=engine, settings=settings))
    assert outbox(engine)
    engine.dispose()
