"""Is this webhook request really from Twilio?

Twilio signs every webhook with the account's auth token over the full URL it called plus the
POSTed form fields (X-Twilio-Signature). That URL is the PUBLIC one configured in the Twilio
console — behind a proxy or load balancer the request we see has another host and scheme — so
the URL is rebuilt from the configured public base, never from the Host header.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def public_webhook_url(public_base: str, path: str, query: str = "") -> str:
    url = public_base.rstrip("/") + path
    return f"{url}?{query}" if query else url


def is_signed_by_twilio(auth_token: str | None, url: str, params: Mapping[str, str],
                        signature: str | None) -> bool:
    """False for a missing or wrong signature, and always when no auth token is configured: an
    unverifiable request is refused rather than trusted."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))
