"""Opt-outs mean what the customer said: an SMS STOP ends that survey on every channel (its
reminder is not re-routed to email) and all SMS; the email unsubscribe page offers "stop all
feedback requests"; the contact log names the rule that applied."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from outreach import optouts, unsubscribe
from surveys.models import Invitation
from tests.factories import make_invitation
from tests.outreach.conftest import events, outbox


def test_sms_stop_drops_the_reminder_instead_of_emailing_it(
        session, settings, clock, engine, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock())  # phone and email: planned as SMS
    assert make_dispatcher().run_once()["sent"] == 1
    with Session(engine) as s:
        optouts.record(s, "sms", "+14155550100", source="sms", now=clock(), note="replied STOP")
        s.commit()
    clock.now = clock.now + timedelta(hours=25)
    report = make_dispatcher().run_once()
    assert report["reminded"] == 0
    assert [m.channel for m in outbox(engine)] == ["sms"]  # no reminder by email
    last = events(engine, inv.id)[-1]
    assert (last.kind, last.action, last.reason, last.channel) == (
        "reminder", "skip", "opted_out", "sms")
    assert "Rule: a reminder only follows its survey's channel (sms)" in (last.detail or "")
    assert "sms closed by an SMS STOP" in (last.detail or "")
    with Session(engine) as s:
        assert s.get(Invitation, inv.id).remind_at is None  # type: ignore[union-attr]


def test_opt_out_skip_names_the_rule(session, settings, clock, engine, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock())
    token = unsubscribe.sign(settings.secret_key, "email", "ana1@example.com", inv.customer_id)
    with Session(engine) as s:
        optouts.record(s, "all", "ana1@example.com", source="unsubscribe_link", now=clock())
        s.commit()
    assert token
    make_dispatcher().run_once()
    [event] = events(engine, inv.id)
    assert (event.action, event.reason) == ("skip", "opted_out")
    assert "Rule: all channels closed by the email unsubscribe link" in (event.detail or "")


def test_unsubscribe_page_offers_stop_all(client, settings, engine) -> None:  # type: ignore[no-untyped-def]
    token = unsubscribe.sign(settings.secret_key, "email", "ana@example.com", None)
    page = client.get(f"/u/{token}")
    assert 'name="scope" value="all"' in page.text and "Stop all feedback requests" in page.text
    done = client.post(f"/u/{token}", data={"scope": "all"})
    assert done.status_code == 200 and "by email or text message" in done.text
    with Session(engine) as s:
        assert optouts.find(s, "all", "ana@example.com") is not None
        # an "all" row on the email closes SMS to the same customer's phone as well
        assert optouts.opted_out_channels(s, ["+14155550100", "ana@example.com"]) == {"sms", "email"}
    other = unsubscribe.sign(settings.secret_key, "email", "bo@example.com", None)
    client.post(f"/u/{other}", data={"scope": "channel"})
    with Session(engine) as s:
        assert optouts.opted_out_channels(s, ["bo@example.com"]) == {"email"}
