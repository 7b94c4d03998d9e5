"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Headers: `webhook-id` (the event id, the same on every retry and replay: receivers de-duplicate
on it), `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`: space-
separated `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` keyed with the base64-decoded
part of the secret after `whsec_`. During a rotation both active secrets sign, so a receiver
holding either one accepts the message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_from_text(text: str) -> str:
    """A `whsec_` secret whose key is exactly `text`'s bytes (settings-made endpoints)."""
    return PREFIX + base64.b64encode(text.encode()).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: " ".join(signature(s, msg_id, timestamp, body) for s in secrets_)}


def verify(secret: str, headers_: dict[str, str], body: bytes, *, now: int | None = None,
           tolerance: int = 300) -> bool:
    """What a receiver does (and the tests): any `v1` signature matching, timestamp fresh."""
    h = {k.lower(): v for k, v in headers_.items()}
    msg_id, ts, sigs = h.get(ID_HEADER), h.get(TIMESTAMP_HEADER), h.get(SIGNATURE_HEADER, "")
    if not msg_id or not ts or not ts.isdigit():
        return False
    if now is not None and abs(now - int(ts)) > tolerance:
        return False
    expected = signature(secret, msg_id, int(ts), body)
    return any(hmac.compare_digest(expected, s) for s in sigs.split(" ") if s.startswith("v1,"))
