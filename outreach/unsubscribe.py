"""Signed unsubscribe tokens: `/u/{token}` names a channel and an address without a database
look-up, and cannot be forged or altered (HMAC-SHA256 with the application's secret key).

They do not expire: an unsubscribe link in an old email must keep working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

_CONTEXT = b"feedback-unsubscribe-v1:"  # domain separation from other uses of the secret


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    channel: str
    address: str
    customer_id: int | None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), _CONTEXT + payload.encode(), hashlib.sha256).digest())


def sign(secret: str, channel: str, address: str, customer_id: int | None) -> str:
    if not secret:
        raise ValueError("a secret key is required to sign unsubscribe links")
    payload = _b64(json.dumps([channel, address, customer_id], separators=(",", ":")).encode())
    return f"{payload}.{_mac(secret, payload)}"


def verify(secret: str, token: str) -> UnsubscribeRequest | None:
    """The request the token stands for, or None when it is malformed or not ours."""
    payload, _, mac = (token or "").partition(".")
    if not payload or not mac or len(token) > 2000:
        return None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        channel, address, customer_id = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if channel not in ("sms", "email", "all") or not isinstance(address, str) or not address:
        return None
    return UnsubscribeRequest(channel, address, customer_id if isinstance(customer_id, int) else None)
