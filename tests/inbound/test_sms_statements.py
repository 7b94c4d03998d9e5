"""Issue #11: an SMS score reply costs a handful of statements — the message's insert (which
takes the phone's turn), ONE look-up of the conversation, the invitation with its context, the
configuration stamp and the opt-out, then the answer's writes."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from surveys.models import Customer, Response
from tests.surveys.test_answer_statements import _count


def test_a_score_reply_to_a_sent_survey_is_seven_statements(sms, sent_invitation, session, clock,  # type: ignore[no-untyped-def]
                                                            engine):
    # Counted warm, as a running server sees a reply (the configuration cache filled by the
    # first one), and with the customer's last_surveyed_at set, as dispatch sets it on sending.
    sent_invitation(phone="+14155550199")
    assert "<Message>" in sms("10", phone="+14155550199").text
    inv = sent_invitation()
    customer = session.get(Customer, inv.customer_id)
    customer.last_surveyed_at = clock.now
    session.add(customer)
    session.commit()
    replies: list[Any] = []
    statements = _count(engine, lambda: replies.append(sms("3")))
    # SQLite's driver mode sends BEGIN as a statement of its own (tests/surveys, `_count`).
    limit = 8 if engine.dialect.name == "sqlite" else 7
    assert len(statements) <= limit, "\n".join(statements)
    assert "<Message>" in replies[0].text  # the follow-up question
    session.expire_all()
    response = session.exec(select(Response).where(Response.invitation_id == inv.id)).one()
    assert (response.score, response.source) == (3, "sms")
