"""Overlapping webhook requests on PostgreSQL (SQLite has one writer, so they cannot overlap):
Twilio delivering the same message twice at once — the unique MessageSid index makes the second
transaction wait, then find the first one's row — and two quick messages from one phone."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from feedback.db import transaction
from feedback.inbound.models import InboundSms
from feedback.inbound.sms import Handled, InboundMessage, handle_inbound_sms
from surveys.models import Response
from tests.inbound.conftest import PHONE


def test_concurrent_duplicate_is_acted_on_once(engine, settings, sent_invitation, clock, session):  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: duplicates cannot overlap there")
    inv = sent_invitation()
    message = InboundMessage(message_sid="SM" + "c" * 32, from_number=PHONE, body="4 slow")
    second: list[Handled] = []
    started = threading.Event()

    def deliver_again() -> None:
        started.set()
        with transaction(engine) as s:
            second.append(handle_inbound_sms(s, message, now=clock.now, settings=settings))

    with transaction(engine) as s:
        first = handle_inbound_sms(s, message, now=clock.now, settings=settings)
        thread = threading.Thread(target=deliver_again)
        thread.start()
        started.wait()
        thread.join(timeout=1)
        assert thread.is_alive(), "the duplicate must wait for the first transaction"
    thread.join(timeout=10)
    assert not first.duplicate and second[0].duplicate
    assert second[0].reply == first.reply == "Thank you for your feedback!"
    assert len(session.exec(select(InboundSms)).all()) == 1
    assert len(session.exec(select(Response).where(Response.invitation_id == inv.id)).all()) == 1


def test_two_quick_messages_from_one_phone_see_each_other(engine, settings, sent_invitation,  # type: ignore[no-untyped-def]
                                                          clock, session):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: messages cannot overlap there")
    inv = sent_invitation()
    second: list[Handled] = []

    def comment() -> None:
        with transaction(engine) as s:
            second.append(handle_inbound_sms(
                s, InboundMessage("SM" + "f" * 32, PHONE, "great agent"), now=clock.now,
                settings=settings))

    with transaction(engine) as s:
        handle_inbound_sms(s, InboundMessage("SM" + "e" * 32, PHONE, "9"), now=clock.now,
                           settings=settings)
        thread = threading.Thread(target=comment)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive(), "the second message must wait for the first"
    thread.join(timeout=10)
    assert second[0].outcome == "comment"
    session.expire_all()
    response = session.exec(select(Response).where(Response.invitation_id == inv.id)).one()
    assert (response.score, response.comment) == (9, "great agent")
