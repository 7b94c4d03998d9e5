"""Issue #10: a signed SMS whose body holds NUL and other control characters is stored without
them and answered 200, so Twilio stops retrying (a 500 makes it resend for hours)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from feedback.inbound.models import InboundSms
from surveys.models import Response


def test_nul_in_a_signed_sms_body_is_stored_stripped_and_answered_200(
        sms: Any, sent_invitation: Any, session: Any) -> None:
    inv = sent_invitation()
    r = sms("9 gr\x00eat\x07 agent")
    assert r.status_code == 200, r.text
    session.expire_all()
    stored = session.exec(select(InboundSms)).one()
    assert stored.body == "9 great agent"
    answer = session.exec(select(Response).where(Response.invitation_id == inv.id)).one()
    assert answer.score == 9


def test_an_sms_that_is_only_control_characters_is_still_answered_200(sms: Any) -> None:
    assert sms("\x00\x01\x02").status_code == 200
