"""SMS through Twilio's Programmable Messaging API, using the official `twilio` client.

Only the transport URL is changed (for tests and staging): requests to `https://api.twilio.com`
(or a regional `api.*.twilio.com`) go to `base_url` instead, everything else — auth, request
encoding, pagination, error parsing — is the real client's.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from outreach.channels.base import (
    ChannelName,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)

log = logging.getLogger(__name__)

# Twilio error codes (https://www.twilio.com/docs/api/errors) that say something about the
# recipient or our account rather than "this request, right now".
INVALID_RECIPIENT_CODES = frozenset({
    21211,  # invalid 'To' phone number
    21214,  # 'To' phone number cannot be reached
    21217,  # phone number does not appear to be valid
    21407,  # this phone number type does not support SMS
    21612,  # the 'To' phone number is not currently reachable via SMS
    21614,  # 'To' number is not a valid mobile number
})
OPTED_OUT_CODES = frozenset({21610})  # attempt to send to unsubscribed recipient (replied STOP)
CONFIG_CODES = frozenset({
    20003,  # authentication failed
    20404,  # resource not found (wrong account SID / messaging service)
    21212,  # invalid 'From' number
    21408,  # sending to the recipient's country is not enabled for this account
    21606,  # 'From' number is not a valid, SMS-capable number for this account
    21659,  # 'From' is not a Twilio number
    21701,  # messaging service SID does not exist / not usable
    21703,  # messaging service has no phone numbers
})
TRANSIENT_CODES = frozenset({20429, 14107})  # too many requests / send rate limit exceeded

DEFAULT_TIMEOUT = 15.0  # twilio's own default is to wait forever
POOL_SIZE = 32  # connections kept per host: at least FEEDBACK_DISPATCH_CONCURRENCY's maximum


class BaseUrlHttpClient(TwilioHttpClient):
    """The real Twilio HTTP client, pointed at `base_url` instead of `https://*.twilio.com`.

    It also remembers, per thread, the `Retry-After` of the last response: `TwilioRestException`
    carries no headers, and the channel may be shared by several worker threads.
    """

    def __init__(self, base_url: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 pool_size: int = POOL_SIZE) -> None:
        super().__init__(timeout=timeout)
        # One pooled session for every thread that sends (the dispatcher's side-by-side rows):
        # the client's own https adapter keeps cpu_count + 4 connections (6 on 2 cores), so with
        # more threads than that each send past the sixth opened — and discarded — a new TLS
        # connection. Both schemes (a base_url may be plain http) keep `pool_size` instead.
        assert self.session is not None
        for scheme in ("https://", "http://"):
            self.session.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=pool_size))
        self.base_url = base_url.rstrip("/") if base_url else None
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"twilio base_url must be an http(s) URL, got {base_url!r}")
        self._local = threading.local()

    def rewrite(self, url: str) -> str:
        if self.base_url is None:
            return url
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not (host == "api.twilio.com" or (host.startswith("api.")
                                             and host.endswith(".twilio.com"))):
            return url
        base = urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self._local.retry_after = None
        response = super().request(method, self.rewrite(url), *args, **kwargs)
        self._local.retry_after = parse_retry_after(response.headers)
        return response

    @property
    def last_retry_after(self) -> float | None:
        return getattr(self._local, "retry_after", None)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def parse_retry_after(headers: Any, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not headers:
        return None
    value = None
    for key, val in dict(headers).items():
        if str(key).lower() == "retry-after":
            value = str(val).strip()
            break
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class TwilioSmsChannel:
    """`Channel` for SMS via Twilio. Thread-safe; reuse one instance (it pools connections)."""

    name: ChannelName = "sms"
    provider = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("Twilio account SID and auth token are required")
        if not from_number and not messaging_service_sid:
            raise ValueError("Twilio needs a from_number or a messaging_service_sid")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.default_status_callback = status_callback
        self.http = BaseUrlHttpClient(base_url, timeout=timeout)
        # Explicit credentials: the client would otherwise fall back to TWILIO_* environment
        # variables, and a test or staging process must never pick up real ones by accident.
        self.client = Client(account_sid, auth_token, http_client=self.http)

    def send(self, msg: OutboundMessage) -> SendResult:
        if msg.channel != "sms":
            raise ValueError(f"TwilioSmsChannel cannot send a {msg.channel!r} message")
        callback = msg.status_callback or self.default_status_callback
        if not callback:
            # Without it we never learn delivered/undelivered/failed: a programming error.
            raise ValueError("an SMS needs a status_callback URL")
        params: dict[str, Any] = {"to": msg.to, "body": msg.body, "status_callback": callback}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        if self.from_number:
            params["from_"] = self.from_number
        try:
            created = self.client.messages.create(**params)
        except Exception as exc:
            raise self._map_error(exc, sending=True) from exc
        if not created.sid:
            raise TransientSendError("Twilio answered without a message SID", maybe_sent=True)
        log.info("twilio accepted sms %s (status %s)", created.sid, created.status)
        return SendResult(provider=self.provider, provider_id=created.sid)

    def find_sent(
        self, to: str, since: datetime, marker: str, *, max_scan: int = 200
    ) -> str | None:
        """SID of an outbound message to `to`, created at or after `since`, containing `marker`.

        No date filter is sent to Twilio on purpose: its only date filter is `DateSent`, which is
        empty while a message is still queued — exactly the case after a crash right after
        `create`. Instead the newest `max_scan` messages to that number are read and filtered
        here (with five minutes' allowance for clock skew between us and Twilio).
        """
        if not marker:
            raise ValueError("marker is empty")
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        cutoff = since.astimezone(UTC) - timedelta(minutes=5)
        try:
            for message in self.client.messages.stream(to=to, limit=max_scan,
                                                       page_size=min(max_scan, 100)):
                if message.direction and not message.direction.startswith("outbound"):
                    continue
                if message.date_created is not None and message.date_created < cutoff:
                    continue
                if message.sid and marker in (message.body or ""):
                    return message.sid
        except Exception as exc:
            raise self._map_error(exc, sending=False) from exc
        return None

    def close(self) -> None:
        self.http.close()

    def _map_error(self, exc: Exception, *, sending: bool) -> Exception:
        if isinstance(exc, TwilioRestException | TwilioServiceException):
            return classify_twilio_error(exc.status, exc.code, _describe(exc),
                                         retry_after=self.http.last_retry_after)
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return TransientSendError(f"connect timeout: {exc}")
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema
                      | requests.exceptions.InvalidSchema):
            return PermanentSendError(f"bad Twilio URL: {exc}", kind="config")
        if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
            return TransientSendError(f"cannot connect: {exc}")
        if isinstance(exc, requests.exceptions.RequestException):
            # A read timeout or a dropped connection: the POST may have been accepted.
            return TransientSendError(f"{type(exc).__name__}: {exc}", maybe_sent=sending)
        if isinstance(exc, TwilioException):
            # Paging failures carry the raw response instead of a parsed error.
            response = next((a for a in exc.args if isinstance(a, Response)), None)
            if response is not None:
                return classify_twilio_error(response.status_code, _error_code(response),
                                             f"HTTP {response.status_code}: {response.text[:200]}",
                                             retry_after=self.http.last_retry_after)
            return PermanentSendError(f"twilio client: {exc}", kind="config")
        return exc  # a bug of ours: let it surface unchanged


def classify_twilio_error(
    status: int, code: int | None, message: str, *, retry_after: float | None = None
) -> TransientSendError | PermanentSendError:
    """Map Twilio's HTTP status and error code to the dispatcher's two outcomes."""
    if code in OPTED_OUT_CODES:
        return PermanentSendError(message, code, kind="opted_out")
    if code in INVALID_RECIPIENT_CODES:
        return PermanentSendError(message, code, kind="invalid_recipient")
    if status == 429 or code in TRANSIENT_CODES or status >= 500:
        return TransientSendError(message, retry_after, code=code)
    if status in (401, 403) or code in CONFIG_CODES:
        return PermanentSendError(message, code, kind="config")
    return PermanentSendError(message, code, kind="rejected")


def _error_code(response: Response) -> int | None:
    try:
        code = json.loads(response.text).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def _describe(exc: TwilioRestException | TwilioServiceException) -> str:
    text = (exc.detail or exc.title) if isinstance(exc, TwilioServiceException) else exc.msg
    return f"HTTP {exc.status} code {exc.code}: {text}"


def _never_connected(exc: BaseException) -> bool:
    """True if no connection was established (refused, DNS failure): nothing can have been sent.

    requests wraps urllib3's MaxRetryError, whose `reason` is the NewConnectionError.
    """
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectionRefusedError):
            return True
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None),
                  *current.args]
        stack.extend(x for x in linked if isinstance(x, BaseException))
    return False
