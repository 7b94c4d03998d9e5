"""Signed Twilio webhook requests (real signatures from `RequestValidator.compute_signature`)
and SMS invitations that have been sent."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Any

import pytest
from sqlmodel import Session
from twilio.request_validator import RequestValidator

from surveys.models import Invitation, InvitationStatus
from tests.factories import make_invitation

AUTH_TOKEN = "test-twilio-auth-token-0123456789"
# The URL configured in the Twilio console: not the host the test client (or a proxy) uses.
PUBLIC_URL = "https://feedback.example.com"
PHONE = "+14155550100"


@pytest.fixture
def settings(settings: Any) -> Any:
    return settings.model_copy(update={"twilio_auth_token": AUTH_TOKEN, "public_url": PUBLIC_URL,
                                       "company_name": "Acme"})


def sign(path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, params)


@pytest.fixture
def twilio_post(client: Any) -> Callable[..., Any]:
    """twilio_post(path, params, signature=<computed>) → the response to a signed POST."""
    def post(path: str, params: dict[str, str], signature: str | None = "compute") -> Any:
        headers = {}
        if signature == "compute":
            signature = sign(path, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return client.post(path, data=params, headers=headers)

    return post


@pytest.fixture
def sms(twilio_post: Callable[..., Any]) -> Callable[..., Any]:
    """sms("9 great agent", sid=…, phone=…) → the TwiML response to an inbound SMS."""
    sids = count(1)

    def send(body: str, sid: str | None = None, phone: str = PHONE) -> Any:
        params = {"MessageSid": sid or f"SM{next(sids):032d}", "AccountSid": "AC" + "0" * 32,
                  "From": phone, "To": "+15005550006", "Body": body, "NumMedia": "0"}
        return twilio_post("/webhooks/twilio/sms", params)

    return send


@pytest.fixture
def sent_invitation(session: Session, settings: Any, clock: Any) -> Callable[..., Invitation]:
    """A survey invitation already sent by SMS (dispatch is not part of these tests)."""
    numbers = count(1)

    def make(survey: str = "nps", phone: str = PHONE, locale: str = "en",
             status: str = InvitationStatus.SENT, sid: str | None = None) -> Invitation:
        n = next(numbers)
        inv = make_invitation(session, settings, clock.now, n=n, survey=survey,
                              customer={"phone": phone, "locale": locale},
                              survey_channel="sms")
        inv.status, inv.sent_at, inv.channel = status, clock.now, "sms"
        inv.provider_message_id = sid or f"SMOUT{n:029d}"
        session.add(inv)
        session.commit()
        return inv

    return make


@pytest.fixture
def api_key(engine: Any) -> Callable[[str], dict[str, str]]:
    from feedback.auth.service import create_api_key
    from feedback.db import transaction

    def make(role: str) -> dict[str, str]:
        with transaction(engine) as s:
            _, key = create_api_key(s, f"{role} key", role)
        return {"Authorization": f"Bearer {key}"}

    return make
