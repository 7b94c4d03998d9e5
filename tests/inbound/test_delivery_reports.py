"""Delivery status callbacks (signed, in and out of order) and the email bounce API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from feedback.inbound.models import EmailBounce
from outreach import optouts
from outreach.delivery import sms_status_transition
from surveys.models import Invitation, InvitationStatus
from tests.factories import make_invitation

STATUS_PATH = "/webhooks/twilio/status"


def _status(twilio_post: Any, sid: str, status: str, **extra: str) -> Any:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32,
              "From": "+15005550006", "To": "+14155550100", **extra}
    return twilio_post(STATUS_PATH, params)


def _reload(session: Session, inv: Invitation) -> Invitation:
    session.expire_all()
    found = session.get(Invitation, inv.id)
    assert found is not None
    return found


def test_status_callback_needs_a_valid_signature(twilio_post, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    params = {"MessageSid": inv.provider_message_id, "MessageStatus": "delivered"}
    assert twilio_post(STATUS_PATH, params, signature=None).status_code == 403
    assert twilio_post(STATUS_PATH, params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert _reload(session, inv).status == InvitationStatus.SENT


def test_sent_then_delivered(twilio_post, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    inv = sent_invitation(status=InvitationStatus.SENDING)
    assert _status(twilio_post, inv.provider_message_id, "queued").status_code == 204
    assert _reload(session, inv).status == InvitationStatus.SENDING
    _status(twilio_post, inv.provider_message_id, "sent")
    assert _reload(session, inv).status == InvitationStatus.SENT
    clock.advance(seconds=5)
    _status(twilio_post, inv.provider_message_id, "delivered")
    inv = _reload(session, inv)
    assert inv.status == InvitationStatus.DELIVERED and inv.delivered_at == clock.now


def test_out_of_order_callbacks_never_move_backwards(twilio_post, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    _status(twilio_post, inv.provider_message_id, "delivered")
    _status(twilio_post, inv.provider_message_id, "sent")  # late
    _status(twilio_post, inv.provider_message_id, "undelivered", ErrorCode="30003")  # bogus
    assert _reload(session, inv).status == InvitationStatus.DELIVERED


def test_nothing_moves_an_answered_invitation(twilio_post, sent_invitation, sms, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    sms("9 lovely")
    for status in ("sent", "delivered", "failed"):
        _status(twilio_post, inv.provider_message_id, status, ErrorCode="30008")
    assert _reload(session, inv).status == InvitationStatus.ANSWERED


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_failure_records_the_error_code(twilio_post, sent_invitation, session, status):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    _status(twilio_post, inv.provider_message_id, status, ErrorCode="30003")
    inv = _reload(session, inv)
    assert inv.status == InvitationStatus.FAILED
    assert inv.status_reason == f"{status} (Twilio error 30003)"
    assert inv.remind_at is None


def test_unknown_message_and_missing_fields(twilio_post, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    assert _status(twilio_post, "SM" + "9" * 32, "delivered").status_code == 204
    r = twilio_post(STATUS_PATH, {"MessageSid": inv.provider_message_id})
    assert r.status_code == 400 and r.json()["field"] == "MessageStatus"
    assert _reload(session, inv).status == InvitationStatus.SENT


def test_transition_table() -> None:
    assert sms_status_transition("sent", "read").status == InvitationStatus.DELIVERED  # type: ignore[union-attr]
    assert sms_status_transition("opened", "delivered") is None
    assert sms_status_transition("expired", "failed") is None
    assert sms_status_transition("sent", "canceled").reason == "canceled"  # type: ignore[union-attr]
    assert sms_status_transition("sent", "nonsense") is None
    failed = sms_status_transition("sending", "failed", error_code="21211",
                                   error_message="Invalid 'To' Phone Number")
    assert failed.reason == "failed (Twilio error 21211: Invalid 'To' Phone Number)"  # type: ignore[union-attr]


# --- bounces -----------------------------------------------------------------------------------

@pytest.fixture
def emailed(session: Session, settings: Any, clock: Any) -> Any:
    def make(n: int = 1, email: str = "ana@example.com") -> Invitation:
        inv = make_invitation(session, settings, clock.now, n=n,
                              customer={"email": email, "phone": None}, survey_channel="email")
        inv.status, inv.sent_at, inv.channel = InvitationStatus.SENT, clock.now, "email"
        inv.provider_message_id = f"<msg-{n}@feedback.example.com>"
        session.add(inv)
        session.commit()
        return inv

    return make


def test_hard_bounce_fails_the_invitation_and_closes_the_address(api, emailed, session):  # type: ignore[no-untyped-def]
    inv = emailed()
    r = api.post("/api/bounces", json={"email": "Ana@Example.com", "kind": "hard",
                                       "reason": "550 5.1.1 user unknown"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": r.json()["id"], "email": "ana@example.com", "kind": "hard",
                        "invitation_id": inv.id, "invitation_status": "failed", "opted_out": True}
    inv = _reload(session, inv)
    assert inv.status == InvitationStatus.FAILED
    assert inv.status_reason == "hard bounce (550 5.1.1 user unknown)"
    assert optouts.is_opted_out(session, "email", "ana@example.com")
    assert optouts.find(session, "email", "ana@example.com").source == "bounce"  # type: ignore[union-attr]


def test_soft_bounce_is_only_recorded(api, emailed, session):  # type: ignore[no-untyped-def]
    inv = emailed()
    r = api.post("/api/bounces", json={"email": "ana@example.com", "kind": "soft",
                                       "reason": "452 mailbox full",
                                       "message_id": inv.provider_message_id})
    assert r.status_code == 201 and r.json()["invitation_status"] == "sent"
    assert _reload(session, inv).status == InvitationStatus.SENT
    assert not optouts.is_opted_out(session, "email", "ana@example.com")
    assert session.exec(select(EmailBounce)).one().kind == "soft"


def test_bounce_names_its_invitation(api, emailed, session):  # type: ignore[no-untyped-def]
    first, second = emailed(1), emailed(2)
    r = api.post("/api/bounces", json={"email": "ana@example.com", "kind": "hard",
                                       "invitation_id": first.id})
    assert r.json()["invitation_id"] == first.id
    assert _reload(session, first).status == InvitationStatus.FAILED
    assert _reload(session, second).status == InvitationStatus.SENT


def test_bounce_of_an_unknown_address_is_still_recorded(api, session):  # type: ignore[no-untyped-def]
    r = api.post("/api/bounces", json={"email": "ghost@example.com", "kind": "hard"})
    assert r.status_code == 201 and r.json()["invitation_id"] is None
    assert optouts.is_opted_out(session, "email", "ghost@example.com")


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email", "kind": "hard"}, "email"),
    ({"email": "a@example.com", "kind": "bouncy"}, "kind"),
    ({"kind": "hard"}, "email"),
    ({"email": "a@example.com", "kind": "hard", "surprise": 1}, "surprise"),
    ({"email": "a@example.com", "kind": "hard", "invitation_id": 999999}, "invitation_id"),
    ({"email": "a@example.com", "kind": "hard", "message_id": "<nope@x>"}, "message_id"),
])
def test_bad_bounces_are_refused(api, body, field, session):  # type: ignore[no-untyped-def]
    r = api.post("/api/bounces", json=body)
    assert r.status_code in (400, 404) and r.json()["field"] == field, r.text
    assert session.exec(select(EmailBounce)).first() is None


def test_bounces_need_a_lead_or_admin_key(client, api_key):  # type: ignore[no-untyped-def]
    body = {"email": "a@example.com", "kind": "hard"}
    assert client.post("/api/bounces", json=body).status_code == 401
    assert client.post("/api/bounces", json=body, headers=api_key("recovery")).status_code == 403
    assert client.post("/api/bounces", json=body, headers=api_key("lead")).status_code == 201
