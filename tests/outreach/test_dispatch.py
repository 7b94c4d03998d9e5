"""Dispatch against the dev outbox with frozen time: policy at send time, reminders, expiry,
retries and failures. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from outreach import optouts
from outreach.channels.base import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from outreach.policy import Reason
from surveys.models import Customer, Invitation
from tests.factories import make_invitation
from tests.outreach.conftest import events, outbox


def reload(engine: Any, inv: Invitation) -> Invitation:
    with Session(engine) as s:
        got = s.get(Invitation, inv.id)
        assert got is not None
        return got


def test_sends_by_sms_through_the_dev_outbox_and_records_everything(
        session, settings, clock, engine, make_dispatcher) -> None:
    inv = make_invitation(session, settings, clock())
    report = make_dispatcher().run_once()
    assert report["sent"] == 1
    got = reload(engine, inv)
    assert (got.status, got.channel, got.sent_at, got.attempts) == ("sent", "sms", clock(), 1)
    assert got.provider_message_id and got.provider_message_id.startswith("dev-")
    assert got.remind_at == clock() + timedelta(hours=24)
    assert got.lease_owner is None and got.status_reason == "channel_unavailable"
    [msg] = outbox(engine)
    assert msg.to == "+14155550100" and msg.marker == inv.token
    assert f"http://testserver.local/s/{inv.token}" in msg.body and "STOP" in msg.body
    [event] = events(engine, inv.id)
    assert (event.action, event.reason, event.channel) == ("send", "channel_unavailable", "sms")
    with Session(engine) as s:
        assert s.get(Customer, inv.customer_id).last_surveyed_at == clock()  # type: ignore[union-attr]
    assert make_dispatcher().run_once().counts == {}  # nothing due twice


@pytest.mark.parametrize(("locale", "expected"), [("zh-CN", "回复 STOP 退订"),
                                                   ("fa", "برای لغو STOP بفرستید")])
def test_sms_is_worded_in_the_customers_language(session, settings, clock, engine,
                                                 make_dispatcher, locale, expected) -> None:
    make_invitation(session, settings, clock(), customer={"locale": locale})
    make_dispatcher().run_once()
    assert expected in outbox(engine)[0].body


def test_quiet_hours_defer_to_the_next_allowed_minute_in_the_customers_zone(
        session, settings, clock, engine, make_dispatcher) -> None:
    clock.now = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 23:30 in Tehran, 16:00 in New York
    tehran = make_invitation(session, settings, clock(), n=1,
                             customer={"time_zone": "Asia/Tehran", "phone": "+989121234567"})
    new_york = make_invitation(session, settings, clock(), n=2,
                               customer={"phone": "+14155550101"})
    report = make_dispatcher().run_once()
    assert (report["sent"], report["deferred"]) == (1, 1)
    assert reload(engine, new_york).status == "sent"
    waiting = reload(engine, tehran)
    # 08:00 in Tehran (UTC+03:30, no DST since 2022) is 04:30 UTC.
    assert (waiting.status, waiting.status_reason) == ("scheduled", "quiet_hours")
    assert waiting.send_at == datetime(2026, 3, 11, 4, 30, tzinfo=UTC)
    [event] = events(engine, tehran.id)
    assert (event.action, event.reason) == ("defer", "quiet_hours")
    assert event.not_before == waiting.send_at and "quiet hours" in (event.detail or "")
    clock.now = datetime(2026, 3, 11, 4, 29, tzinfo=UTC)
    assert make_dispatcher().run_once().counts == {}
    clock.now = datetime(2026, 3, 11, 4, 30, tzinfo=UTC)
    assert make_dispatcher().run_once()["sent"] == 1


def test_quiet_hours_across_the_spring_forward_change(session, settings, clock, engine,
                                                       make_dispatcher) -> None:
    # 2026-03-08 02:00 EST → 03:00 EDT. At 03:00 UTC it is 22:00 EST on the 7th: quiet.
    clock.now = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
    inv = make_invitation(session, settings, clock())
    make_dispatcher().run_once()
    # 08:00 EDT (UTC-4) on the 8th, not 08:00 EST (13:00 UTC).
    assert reload(engine, inv).send_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_quiet_hours_hold_sms_only_by_default(session, settings, clock, engine,
                                              make_dispatcher) -> None:
    clock.now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 23:00 in New York
    inv = make_invitation(session, settings, clock(), customer={"phone": None})
    make_dispatcher().run_once()
    assert (reload(engine, inv).status, reload(engine, inv).channel) == ("sent", "email")
    late = make_invitation(session, settings, clock(), n=2, customer={"phone": None})
    make_dispatcher(quiet_channels=frozenset({"sms", "email"})).run_once()
    assert reload(engine, late).status_reason == "quiet_hours"


def test_fatigue_counts_every_channel(session, settings, clock, engine, make_dispatcher) -> None:
    by_email = make_invitation(session, settings, clock(), n=1,
                               customer={"external_id": "C-1", "phone": None})
    make_dispatcher(reminder_after=None).run_once()
    assert reload(engine, by_email).channel == "email"
    clock.advance(days=3)
    by_sms = make_invitation(session, settings, clock(), n=2,
                             customer={"external_id": "C-1", "phone": "+14155550100"})
    assert by_sms.channel == "sms"
    assert make_dispatcher(reminder_after=None).run_once()["suppressed"] == 1
    got = reload(engine, by_sms)
    assert (got.status, got.status_reason) == ("suppressed", "fatigue")
    assert events(engine, by_sms.id)[0].reason == "fatigue"
    assert len(outbox(engine)) == 1


def test_opt_out_is_checked_at_send_time(session, settings, clock, engine,
                                         make_dispatcher) -> None:
    sms_closed = make_invitation(session, settings, clock(), n=1)
    all_closed = make_invitation(session, settings, clock(), n=2,
                                 customer={"phone": "+14155550102"})
    assert sms_closed.channel == all_closed.channel == "sms"  # planned before the opt-outs
    optouts.record(session, "sms", "+14155550100", source="test", now=clock())
    optouts.record(session, "all", "+14155550102", source="test", now=clock())
    optouts.record(session, "all", "ana2@example.com", source="test", now=clock())
    session.commit()
    report = make_dispatcher().run_once()
    assert (report["sent"], report["suppressed"]) == (1, 1)
    fell_back = reload(engine, sms_closed)
    assert (fell_back.status, fell_back.channel) == ("sent", "email")
    blocked = reload(engine, all_closed)
    assert (blocked.status, blocked.status_reason) == ("suppressed", "opted_out")
    assert [m.to for m in outbox(engine)] == ["ana1@example.com"]


def test_no_contact_is_suppressed_with_the_reason(session, settings, clock, engine,
                                                  make_dispatcher) -> None:
    inv = make_invitation(session, settings, clock(), customer={"phone": None, "email": None})
    assert inv.channel == "link"
    make_dispatcher().run_once()
    got = reload(engine, inv)
    assert (got.status, got.status_reason) == ("suppressed", "no_contact")
    assert events(engine, inv.id)[0].detail == Reason.NO_CONTACT.explanation


def test_one_reminder_after_24_hours_and_only_one(session, settings, clock, engine,
                                                  make_dispatcher) -> None:
    inv = make_invitation(session, settings, clock())
    answered = make_invitation(session, settings, clock(), n=2, customer={"phone": "+14155550109"})
    make_dispatcher().run_once()
    with Session(engine) as s:
        row = s.get(Invitation, answered.id)
        row.status, row.remind_at = "answered", None  # type: ignore[union-attr]
        s.add(row)
        s.commit()
    clock.advance(hours=23, minutes=59)
    assert make_dispatcher().run_once().counts == {}
    clock.advance(minutes=1)
    assert make_dispatcher().run_once().counts == {"reminded": 1}
    got = reload(engine, inv)
    assert got.reminded_at == clock() and got.remind_at is None and got.status == "sent"
    for _ in range(3):
        clock.advance(hours=24)
        assert make_dispatcher().run_once().counts == {}
    reminders = [m for m in outbox(engine) if "reminder" in m.body]
    assert len(reminders) == 1 and inv.token in reminders[0].body
    assert [e.kind for e in events(engine, inv.id)] == ["invitation", "reminder"]


def test_expiry_marks_open_invitations_expired(session, settings, clock, engine,
                                               make_dispatcher) -> None:
    sent = make_invitation(session, settings, clock(), n=1)
    make_dispatcher(reminder_after=None).run_once()
    unsent = make_invitation(session, settings, clock(), n=2, customer={"phone": "+14155550103"})
    clock.advance(days=7, seconds=1)
    dispatcher = make_dispatcher()
    assert dispatcher.expire() == 2
    assert {reload(engine, sent).status, reload(engine, unsent).status} == {"expired"}
    assert events(engine, unsent.id)[-1].reason == "expired"
    assert dispatcher.expire() == 0
    assert dispatcher.run_once().counts == {}


class Scripted:
    """A channel answering from a script: exceptions are raised, strings are provider ids."""

    name = "sms"
    provider = "scripted"

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[OutboundMessage] = []

    def send(self, msg: OutboundMessage) -> SendResult:
        self.sent.append(msg)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return SendResult(self.provider, outcome)


def test_transient_failure_retries_with_backoff_then_succeeds(
        session, settings, clock, engine, make_dispatcher) -> None:
    channel = Scripted(TransientSendError("HTTP 503", code=503), "SM-2")
    inv = make_invitation(session, settings, clock())
    dispatcher = make_dispatcher({"sms": channel, "email": channel},
                                 retry_base=timedelta(seconds=30))
    assert dispatcher.run_once().counts == {"retried": 1}
    waiting = reload(engine, inv)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("scheduled", 1, "HTTP 503")
    assert clock() <= waiting.send_at <= clock() + timedelta(seconds=30)  # full jitter
    clock.now = waiting.send_at
    assert dispatcher.run_once().counts == {"sent": 1}
    got = reload(engine, inv)
    assert (got.status, got.provider_message_id, got.attempts) == ("sent", "SM-2", 2)
    assert [e.action for e in events(engine, inv.id)] == ["retry", "send"]
    assert channel.sent[0].idempotency_key == channel.sent[1].idempotency_key


def test_retries_give_up_after_max_attempts(session, settings, clock, engine,
                                            make_dispatcher) -> None:
    channel = Scripted(*[TransientSendError("timeout")] * 3)
    inv = make_invitation(session, settings, clock())
    dispatcher = make_dispatcher({"sms": channel, "email": channel}, max_attempts=3)
    for _ in range(3):
        dispatcher.run_once()
        clock.advance(hours=2)
    got = reload(engine, inv)
    assert got.status == "failed" and "gave up after 3 attempts: timeout" in (got.status_reason or "")


def test_permanent_failure_marks_failed_with_the_provider_reason(
        session, settings, clock, engine, make_dispatcher) -> None:
    channel = Scripted(PermanentSendError("HTTP 400 code 21211: invalid 'To'", 21211,
                                          kind="invalid_recipient"))
    inv = make_invitation(session, settings, clock())
    assert make_dispatcher({"sms": channel, "email": channel}).run_once().counts == {"failed": 1}
    got = reload(engine, inv)
    assert got.status == "failed"
    assert got.status_reason == "invalid_recipient: HTTP 400 code 21211: invalid 'To'"
    assert events(engine, inv.id)[0].reason == "invalid_recipient"


def test_provider_opt_out_is_recorded_for_later_surveys(session, settings, clock, engine,
                                                        make_dispatcher) -> None:
    channel = Scripted(PermanentSendError("code 21610: unsubscribed", 21610, kind="opted_out"))
    make_invitation(session, settings, clock())
    make_dispatcher({"sms": channel, "email": channel}).run_once()
    with Session(engine) as s:
        assert optouts.opted_out_channels(s, ["+14155550100"]) == {"sms"}


def test_maybe_sent_failure_is_reconciled_not_resent(session, settings, clock, engine,
                                                     make_dispatcher) -> None:
    class Remembering(Scripted):
        def find_sent(self, to: str, since: datetime, marker: str) -> str | None:
            return "SM-accepted" if any(marker in m.body for m in self.sent) else None

    channel = Remembering(TransientSendError("read timeout", maybe_sent=True))
    inv = make_invitation(session, settings, clock())
    dispatcher = make_dispatcher({"sms": channel, "email": channel})
    assert dispatcher.run_once().counts == {"retried": 1}
    assert reload(engine, inv).status == "sending"
    clock.advance(hours=2)
    assert dispatcher.run_once().counts == {"reconciled": 1}
    got = reload(engine, inv)
    assert (got.status, got.provider_message_id, got.status_reason) == (
        "sent", "SM-accepted", "already_sent")
    assert len(channel.sent) == 1


def test_an_interrupted_send_is_reconciled_before_quiet_hours_could_defer_it(
        session, settings, clock, engine, make_dispatcher) -> None:
    class Remembering(Scripted):
        def find_sent(self, to: str, since: datetime, marker: str) -> str | None:
            return "SM-first" if any(marker in m.body for m in self.sent) else None

    channel = Remembering(TransientSendError("connection reset", maybe_sent=True))
    clock.now = datetime(2026, 3, 11, 0, 58, tzinfo=UTC)  # 20:58 in New York
    inv = make_invitation(session, settings, clock())
    dispatcher = make_dispatcher({"sms": channel, "email": channel},
                                 retry_base=timedelta(seconds=1))
    dispatcher.run_once()
    clock.advance(minutes=5)  # now quiet hours
    assert dispatcher.run_once().counts == {"reconciled": 1}
    assert reload(engine, inv).status == "sent" and len(channel.sent) == 1


def test_an_answer_arriving_during_the_send_is_not_overwritten(
        session, settings, clock, engine, make_dispatcher) -> None:
    inv = make_invitation(session, settings, clock())

    class AnsweredMeanwhile(Scripted):
        def send(self, msg: OutboundMessage) -> SendResult:
            with Session(engine) as s:
                row = s.get(Invitation, inv.id)
                row.status = "answered"  # type: ignore[union-attr]
                s.add(row)
                s.commit()
            return super().send(msg)

    channel = AnsweredMeanwhile("SM-1")
    assert make_dispatcher({"sms": channel, "email": channel}).run_once()["lost_lease"] == 1
    assert reload(engine, inv).status == "answered"
