"""POST /webhooks/twilio/sms with real signed requests: signature, replies, conversation,
keywords, duplicates and unknown senders — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from feedback.inbound.models import InboundSms, Outcome, SmsConversation
from feedback.recovery.models import RecoveryTask
from outreach import optouts
from surveys.models import Invitation, InvitationStatus, Response
from tests.inbound.conftest import PHONE, sign
from tests.support.followups import run_followups

SMS_PATH = "/webhooks/twilio/sms"


def _message(r: Any) -> str:
    """The text of the one <Message> in a TwiML answer ('' when we answer nothing)."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')
    found = re.findall(r"<Message>(.*?)</Message>", r.text, re.S)
    assert len(found) <= 1
    return found[0] if found else ""


def _response(session: Session, inv: Invitation) -> Response | None:
    session.expire_all()
    return session.exec(select(Response).where(Response.invitation_id == inv.id)).first()


def _params(body: str = "9", sid: str = "SM" + "1" * 32) -> dict[str, str]:
    return {"MessageSid": sid, "From": PHONE, "To": "+15005550006", "Body": body}


# --- signature ---------------------------------------------------------------------------------

def test_forged_signature_is_refused(twilio_post, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    params = _params()
    forged = sign(SMS_PATH, params, token="not-our-token")
    r = twilio_post(SMS_PATH, params, signature=forged)
    assert r.status_code == 403 and r.json()["error"] == "bad_signature"
    # signed for other parameters than those sent: tampered with on the way
    r = twilio_post(SMS_PATH, {**params, "Body": "0"}, signature=sign(SMS_PATH, params))
    assert r.status_code == 403
    assert _response(session, inv) is None
    assert session.exec(select(InboundSms)).first() is None


def test_missing_signature_is_refused(twilio_post):  # type: ignore[no-untyped-def]
    assert twilio_post(SMS_PATH, _params(), signature=None).status_code == 403


def test_signature_is_checked_against_the_public_url_not_the_internal_host(twilio_post):  # type: ignore[no-untyped-def]
    from twilio.request_validator import RequestValidator

    from tests.inbound.conftest import AUTH_TOKEN

    params = _params()
    internal = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://testserver.local" + SMS_PATH, params)
    assert twilio_post(SMS_PATH, params, signature=internal).status_code == 403
    assert twilio_post(SMS_PATH, params).status_code == 200


def test_without_an_auth_token_every_request_is_refused(client, settings):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from feedback.app import create_app

    app = create_app(settings.model_copy(update={"twilio_auth_token": None}),
                     engine=client.app.state.engine)
    with TestClient(app, base_url="http://testserver.local") as c:
        r = c.post(SMS_PATH, data=_params(), headers={"X-Twilio-Signature": sign(SMS_PATH, _params())})
    assert r.status_code == 403


def test_a_signed_request_without_a_sender_is_a_400(twilio_post):  # type: ignore[no-untyped-def]
    params = {"MessageSid": "SM" + "2" * 32, "Body": "9"}
    r = twilio_post(SMS_PATH, params)
    assert r.status_code == 400 and r.json()["field"] == "From"


# --- answers -----------------------------------------------------------------------------------

def test_score_alone_then_follow_up_comment(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    reply = _message(sms("9"))
    assert reply == "Thank you! What is the main reason for your score? (Just reply to this message.)"
    response = _response(session, inv)
    assert response is not None and response.score == 9 and response.source == "sms"
    assert response.comment is None and response.classification == "promoter"
    clock.advance(minutes=5)
    assert _message(sms("The agent, Tom, fixed it in one call")) == "Thank you for your feedback!"
    response = _response(session, inv)
    assert response.comment == "The agent, Tom, fixed it in one call"  # type: ignore[union-attr]
    assert session.exec(select(SmsConversation)).first() is None
    outcomes = [m.outcome for m in session.exec(select(InboundSms).order_by(InboundSms.id))]
    assert outcomes == [Outcome.SCORE, Outcome.COMMENT]
    # the conversation is over: a further message finds no open survey
    assert "no open survey" in _message(sms("hello?"))


def test_follow_up_reply_starting_with_a_number_is_the_comment(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    sms("6")
    sms("10 minutes on hold, too long")
    response = _response(session, inv)
    assert response.score == 6 and response.comment == "10 minutes on hold, too long"  # type: ignore[union-attr]


def test_score_with_comment_in_one_message(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    first, second = sent_invitation(phone="+14155550101"), sent_invitation(phone="+14155550102")
    assert _message(sms("9 great agent", phone="+14155550101")) == "Thank you for your feedback!"
    assert _message(sms("9/10 – quick", phone="+14155550102")) == "Thank you for your feedback!"
    assert (_response(session, first).score, _response(session, first).comment) == (9, "great agent")  # type: ignore[union-attr]
    assert (_response(session, second).score, _response(session, second).comment) == (9, "quick")  # type: ignore[union-attr]
    session.expire_all()
    assert session.get(Invitation, first.id).status == InvitationStatus.ANSWERED  # type: ignore[union-attr]
    assert session.exec(select(SmsConversation)).first() is None


def test_detractor_sms_opens_a_recovery_task_like_the_web_page(sms, sent_invitation, session,  # type: ignore[no-untyped-def]
                                                                engine, settings, clock):
    inv = sent_invitation()
    sms("2 nobody called me back")
    assert session.exec(select(RecoveryTask)).first() is None  # after commit, by the follow-up
    assert run_followups(engine, settings, clock) == 1
    task = session.exec(select(RecoveryTask)).first()
    assert task is not None and task.customer_id == inv.customer_id


def test_the_latest_open_sms_invitation_is_answered(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    older = sent_invitation()
    clock.advance(hours=1)
    newer = sent_invitation(survey="csat")
    assert _message(sms("5 great")) == "Thank you for your feedback!"
    assert _response(session, older) is None
    assert _response(session, newer).score == 5  # type: ignore[union-attr]


def test_out_of_range_is_clarified_once_then_stored(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation(survey="csat")
    assert _message(sms("9")) == "Sorry, we didn't understand. Please reply with a number from 1 to 5."
    reply = _message(sms("very good"))
    assert reply.startswith("Thank you, we have saved your message.")
    assert f"https://feedback.example.com/s/{inv.token}" in reply
    assert _response(session, inv) is None
    # not asked a third time: the next reply is read afresh (and here it is a score)
    assert _message(sms("4")).startswith("Thank you!")
    assert _response(session, inv).score == 4  # type: ignore[union-attr]
    outcomes = [m.outcome for m in session.exec(select(InboundSms).order_by(InboundSms.id))]
    assert outcomes == [Outcome.CLARIFY, Outcome.UNPARSED, Outcome.SCORE]


def test_clarified_then_a_valid_score(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    assert "from 0 to 10" in _message(sms("11"))
    assert _message(sms("10 brilliant")) == "Thank you for your feedback!"
    assert _response(session, inv).score == 10  # type: ignore[union-attr]


def test_conversation_expires(sms, sent_invitation, session, clock, settings):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    sms("8")
    clock.advance(hours=settings.sms_conversation_hours + 1)
    assert "no open survey" in _message(sms("It was fine"))
    assert _response(session, inv).comment is None  # type: ignore[union-attr]


def test_reply_is_localised(sms, sent_invitation):  # type: ignore[no-untyped-def]
    sent_invitation(phone="+14155550103", locale="zh-CN")
    sent_invitation(phone="+14155550104", locale="fa")
    assert _message(sms("十一", phone="+14155550103")) == "抱歉，我们没有理解。请回复 0 到 10 之间的数字。"
    assert _message(sms("۹ عالی", phone="+14155550104")) == "از بازخورد شما سپاسگزاریم!"


def test_answered_on_the_web_meanwhile(sms, sent_invitation, session, settings, clock):  # type: ignore[no-untyped-def]
    from feedback.responses import record_response

    inv = sent_invitation()
    assert "from 0 to 10" in _message(sms("eleventy"))
    record_response(session, inv, score=7, comment=None, source="web", now=clock.now,
                    settings=settings)
    session.commit()
    assert _message(sms("8")) == "Thank you, your answer was already recorded."
    assert _response(session, inv).score == 7  # type: ignore[union-attr]


def test_expired_invitation_is_not_answered(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    clock.advance(days=8)
    assert "no open survey" in _message(sms("9"))
    assert _response(session, inv) is None


# --- keywords ----------------------------------------------------------------------------------

def test_stop_opts_out_then_no_further_contact(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    assert "unsubscribed from Acme surveys" in _message(sms("Stop"))
    assert optouts.is_opted_out(session, "sms", PHONE)
    row = optouts.find(session, "sms", PHONE)
    assert row.source == "sms" and row.note == "replied STOP"  # type: ignore[union-attr]
    assert row.customer_id == inv.customer_id  # type: ignore[union-attr]
    # whatever they send next is kept but never answered (no clarifying SMS, no follow-up)
    assert _message(sms("what?")) == ""
    assert _message(sms("9")) == ""
    assert _response(session, inv) is None
    assert len(session.exec(select(InboundSms)).all()) == 3


def test_every_opt_out_keyword(sms, session):  # type: ignore[no-untyped-def]
    for n, word in enumerate(["STOP", "stopall", "UNSUBSCRIBE", "cancel", "End", "QUIT"]):
        phone = f"+1415555020{n}"
        sms(word, phone=phone)
        assert optouts.is_opted_out(session, "sms", phone), word


def test_start_opts_back_in_and_help_explains(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    sms("STOP")
    assert "subscribed to Acme surveys again" in _message(sms("START"))
    assert not optouts.is_opted_out(session, "sms", PHONE)
    sms("STOP")
    sms("unstop")
    assert not optouts.is_opted_out(session, "sms", PHONE)
    help_text = _message(sms("HELP"))
    assert "Acme customer feedback" in help_text and "STOP" in help_text
    assert "https://feedback.example.com" in help_text
    assert _message(sms("9 ok")) == "Thank you for your feedback!"
    assert _response(session, inv).score == 9  # type: ignore[union-attr]


def test_stop_during_the_follow_up_ends_the_conversation(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    sent_invitation()
    sms("3")
    sms("STOP")
    assert session.exec(select(SmsConversation)).first() is None


# --- duplicates and strangers ------------------------------------------------------------------

def test_duplicate_message_sid_is_recorded_once(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    sid = "SM" + "d" * 32
    first = _message(sms("9", sid=sid))
    again = _message(sms("9", sid=sid))  # Twilio's retry: same answer, nothing new recorded
    assert first == again and first.startswith("Thank you!")
    assert len(session.exec(select(InboundSms)).all()) == 1
    assert _response(session, inv).score == 9  # type: ignore[union-attr]
    assert session.exec(select(SmsConversation)).one().awaiting == "comment"


def test_unknown_number_gets_a_polite_answer_and_is_stored(sms, session):  # type: ignore[no-untyped-def]
    reply = _message(sms("Hi, who is this?", phone="+447700900123"))
    assert reply == "Thank you for your message. There is no open survey for this number."
    stored = session.exec(select(InboundSms)).one()
    assert (stored.from_number, stored.body, stored.customer_id) == ("+447700900123", "Hi, who is this?", None)
    assert stored.outcome == Outcome.NO_SURVEY and stored.reply == reply


def test_after_stop_new_surveys_are_not_planned_by_sms(sms, session, settings, clock):  # type: ignore[no-untyped-def]
    from tests.factories import make_invitation

    sms("STOP")
    later = make_invitation(session, settings, clock.now, n=77, customer={"phone": PHONE})
    assert later.channel == "email"  # the customer's other route; dispatch re-checks at send time


def test_an_over_long_reply_is_cut_not_lost(sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    from surveys.service import MAX_COMMENT

    first, second = sent_invitation(phone="+14155550105"), sent_invitation(phone="+14155550106")
    sms("9 " + "x" * 5000, phone="+14155550105")
    sms("3", phone="+14155550106")
    sms("y" * 5000, phone="+14155550106")
    assert len(_response(session, first).comment) == MAX_COMMENT  # type: ignore[arg-type,union-attr]
    assert len(_response(session, second).comment) == MAX_COMMENT  # type: ignore[arg-type,union-attr]
    assert max(len(m.body) for m in session.exec(select(InboundSms))) == 5002


def test_stop_ends_the_survey_on_every_channel_and_logs_the_rule(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    from outreach.models import ContactEvent

    inv = sent_invitation()
    inv.remind_at = clock.now + timedelta(hours=24)
    session.add(inv)
    session.commit()
    sms("STOP")
    session.expire_all()
    assert session.get(Invitation, inv.id).remind_at is None
    [event] = session.exec(select(ContactEvent).where(ContactEvent.invitation_id == inv.id)).all()
    assert (event.kind, event.action, event.reason) == ("reminder", "skip", "opted_out")
    assert "SMS STOP ends this survey on every channel" in event.detail


def test_a_reply_after_the_survey_reaches_the_recovery_task_and_its_owner(
        sms, sent_invitation, session, clock, engine, settings):  # type: ignore[no-untyped-def]
    from feedback.auth.service import create_user
    from feedback.db import transaction
    from feedback.notifications.models import Notification
    from feedback.recovery.models import RecoveryEvent

    with transaction(engine) as s:
        create_user(s, email="rita@example.com", name="Rita", role="recovery", team="Billing")
    sent_invitation()
    sms("2 nobody called me back")  # the detractor's answer, with its comment: a task for Rita
    run_followups(engine, settings, clock)
    clock.advance(hours=2)
    reply = _message(sms("please call me after 5pm"))
    assert "passed your message" in reply and "no open survey" not in reply
    session.expire_all()
    task = session.exec(select(RecoveryTask)).one()
    [event] = session.exec(select(RecoveryEvent).where(RecoveryEvent.action == "customer_reply")).all()
    assert (event.task_id, event.note, event.actor) == (task.id, "please call me after 5pm", "customer")
    [note] = session.exec(select(Notification).where(
        Notification.dedupe_key.like(f"recovery:{task.id}:reply:%"))).all()  # type: ignore[attr-defined]
    assert note.target == "rita@example.com" and "please call me after 5pm" in (note.body or "")
    assert session.exec(select(InboundSms).order_by(InboundSms.id.desc())).first().outcome == "task_reply"  # type: ignore[union-attr]
    # STOP and HELP keep precedence over the task
    assert "unsubscribed" in _message(sms("STOP"))
    # … and a task resolved more than 14 days ago no longer takes replies
    task.resolved_at, task.status = clock.now - timedelta(days=15), "resolved"
    session.add(task)
    session.commit()
    sms("START")
    assert "no open survey" in _message(sms("hello again"))


def test_replies_carry_the_company_name_of_the_policies(api, sms, sent_invitation):  # type: ignore[no-untyped-def]
    """Renamed in the policies page, the SMS replies say the new name at once (no restart)."""
    p = api.get("/api/policies").json()["policies"]
    p["branding"]["company_name"] = "Globex"
    assert api.put("/api/policies", json=p).status_code == 200
    sent_invitation()
    help_text = _message(sms("HELP"))
    assert "Globex customer feedback" in help_text and "Acme" not in help_text
