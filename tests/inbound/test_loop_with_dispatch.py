"""The whole SMS loop with the real dispatcher (dev outbox): sent, delivered, answered by SMS —
and after STOP, no reminder and no further survey by SMS."""

from __future__ import annotations

from sqlmodel import Session

from surveys.models import Invitation
from tests.factories import make_invitation
from tests.inbound.conftest import PHONE
from tests.outreach.conftest import make_dispatcher, outbox  # noqa: F401  (fixture)


def _reload(engine, inv):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.get(Invitation, inv.id)


def test_sent_delivered_then_answered_by_sms(session, settings, clock, engine, make_dispatcher,  # type: ignore[no-untyped-def]  # noqa: F811
                                             twilio_post, sms):
    inv = make_invitation(session, settings, clock.now, customer={"phone": PHONE})
    assert make_dispatcher().run_once()["sent"] == 1
    sid = _reload(engine, inv).provider_message_id
    twilio_post("/webhooks/twilio/status", {"MessageSid": sid, "MessageStatus": "delivered"})
    assert _reload(engine, inv).status == "delivered"
    assert "Thank you for your feedback!" in sms("10 perfect").text
    assert _reload(engine, inv).status == "answered"


def test_after_stop_no_reminder_and_no_sms_survey(session, settings, clock, engine,  # type: ignore[no-untyped-def]
                                                  make_dispatcher, sms):  # noqa: F811
    inv = make_invitation(session, settings, clock.now,
                          customer={"phone": PHONE, "email": None})
    make_dispatcher().run_once()
    assert [m.to for m in outbox(engine)] == [PHONE]
    sms("STOP")
    clock.advance(hours=25)  # the reminder is due
    make_dispatcher().run_once()
    later = make_invitation(session, settings, clock.now, n=2,
                            customer={"phone": PHONE, "email": None})
    make_dispatcher().run_once()
    assert [m.to for m in outbox(engine)] == [PHONE]  # the first survey only
    assert _reload(engine, inv).reminded_at is None
    assert _reload(engine, later).status == "suppressed"
