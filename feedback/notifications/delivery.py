"""Sending what the outbox holds: webhooks and Slack with httpx, email/SMS through outreach.

Nothing is sent inside a database transaction: rows are claimed (one short transaction), sent,
then settled one by one (another short transaction each). A receiver that is down gets the
message later with exponential backoff; after `notification_max_attempts` the row is marked
failed with the reason, visible to people, never silently dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from feedback.notifications.outbox import Claimed, backoff, claim_due, mark_failed, mark_sent
from outreach.channels.base import OutboundMessage, PermanentSendError, TransientSendError
from outreach.channels.factory import build_channels
from outreach.devoutbox import DevOutboxStore

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Feedback-Signature"
TIMESTAMP_HEADER = "X-Feedback-Timestamp"
DELIVERY_HEADER = "X-Feedback-Delivery"
_RETRYABLE_STATUS = {408, 409, 425, 429}


class Transient(Exception):
    """Worth retrying: the receiver is down, slow or overloaded."""


class Permanent(Exception):
    """Retrying cannot help: a bad address, a refused payload."""


def sign(secret: str, body: bytes) -> str:
    """The value of X-Feedback-Signature: `sha256=` + hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers (and tests): constant-time check of a signature header."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


def post_json(client: httpx.Client, url: str, payload: dict[str, Any], *,
              secret: str | None, delivery_id: str, timeout: float) -> None:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(int(time.time())),
               DELIVERY_HEADER: delivery_id, "User-Agent": "feedback-notifications/1"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    try:
        r = client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:  # refused, reset, DNS, timeout: the receiver may come back
        raise Transient(f"{exc.__class__.__name__}: {exc}") from exc
    if r.is_success:
        return
    detail = f"HTTP {r.status_code} from {url}: {r.text[:200]}"
    if r.status_code >= 500 or r.status_code in _RETRYABLE_STATUS:
        raise Transient(detail)
    raise Permanent(detail)


def send_via_outreach(note: Claimed, settings: Any, cache: dict[str, Any]) -> str:
    """The one seam to outreach's channels (email/SMS). Returns how the message left.

    An unconfigured channel is outreach's dev transport: with a `dev_sink` in `cache` (the
    dev outbox store, as `deliver_due` provides) staff e-mails land in `/outbox` beside the
    customers' surveys, so a newcomer sees escalations too; without one they are logged.
    """
    if "channels" not in cache:
        cache["channels"] = build_channels(settings, cache.get("dev_sink"))
    channel = cache["channels"].get(note.kind)
    if channel is None:
        raise Permanent(f"no {note.kind} channel is configured")
    try:
        result = channel.send(OutboundMessage(
            channel=note.kind, to=note.target, body=note.body or note.subject or "",
            subject=note.subject if note.kind == "email" else None,
            idempotency_key=note.dedupe_key))
    except TransientSendError as exc:
        raise Transient(exc.reason) from exc
    except (PermanentSendError, ValueError) as exc:
        raise Permanent(str(exc)) from exc
    return f"{note.kind}:{result.provider}"[:40]


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _events() -> Any:
    # Event deliveries belong to feedback.integrations, which imports this package: imported
    # when first needed rather than at module load, so the dependency stays one-way at import.
    from feedback.integrations import delivery as events

    return events


def _send(note: Claimed, settings: Any, client: httpx.Client, cache: dict[str, Any]) -> str:
    if note.kind in ("webhook", "slack"):
        post_json(client, note.target, note.payload, secret=settings.recovery_webhook_secret,
                  delivery_id=note.dedupe_key, timeout=settings.notification_timeout_seconds)
        return "httpx"
    return send_via_outreach(note, settings, cache)


def deliver_due(engine: Engine, settings: Any, clock: Callable[[], datetime], *,
                worker: str, client: httpx.Client | None = None, limit: int = 50,
                extras: dict[str, Any] | None = None) -> DeliveryReport:
    """One pass: claim due notifications, send each, settle each. Safe with many workers.

    Event deliveries of one pass are sent side by side (`webhooks_concurrency` threads): the
    claim gives at most one row per endpoint and subject, so their order is not at stake, and
    one slow receiver no longer holds up every other. Other kinds go one by one."""
    report = DeliveryReport()
    lease = timedelta(seconds=max(settings.lease_seconds,
                                  3 * settings.notification_timeout_seconds))
    with engine.begin() as conn:
        claimed = claim_due(conn, now=clock(), worker=worker, lease=lease, limit=limit)
    if not claimed:
        return report
    own_client = client is None
    client = client or httpx.Client(follow_redirects=False)
    cache = extras if extras is not None else {}
    cache.setdefault("dev_sink", DevOutboxStore(engine, clock))
    endpoints: dict[int | None, Any] = {}  # event endpoints, read once per pass

    def attempt(note: Claimed) -> tuple[Claimed, str | None, int | None, Exception | None]:
        try:
            if note.kind == "event":
                code, ms = _events().send(note, settings, client, engine, clock(), endpoints)
                return note, f"http {code}", ms, None
            return note, _send(note, settings, client, cache), None, None
        except Exception as exc:  # noqa: BLE001 - a bug in one send must not lose the rest
            if not isinstance(exc, (Transient, Permanent)):
                log.exception("notification %s: unexpected error while sending", note.id)
            return note, None, None, exc

    attempt_log: list[dict[str, Any]] = []  # a pass's event delivery-log rows, one INSERT

    def settle(conn: Any, note: Claimed, via: str | None, ms: int | None,
               exc: Exception | None) -> None:
        now = clock()
        if exc is None:
            if mark_sent(conn, note, worker=worker, now=now, via=via or "") and note.kind == "event":
                _events().settled(conn, note, now=now, settings=settings,
                                  status_code=int((via or "0").split()[-1]), ms=ms,
                                  endpoint=endpoints.get(note.endpoint_id), log=attempt_log)
            report.sent += 1
            return
        if note.kind == "event":  # retried for a day, whatever the attempt count
            give_up = _events().give_up(note, exc, settings, now)
        else:
            give_up = (isinstance(exc, Permanent)
                       or note.attempts >= settings.notification_max_attempts)
        retry_at = None if give_up else now + backoff(note.attempts,
                                                      settings.notification_retry_seconds)
        if mark_failed(conn, note, worker=worker, now=now, error=str(exc),
                       retry_at=retry_at) and note.kind == "event":
            _events().settled(conn, note, now=now, settings=settings, error=exc,
                              log=attempt_log)
        report.errors.append(f"{note.dedupe_key}: {exc}")
        if give_up:
            report.failed += 1
            log.warning("notification %s failed for good after %d attempts: %s",
                        note.dedupe_key, note.attempts, exc)
        else:
            report.retried += 1

    try:
        for note in claimed:  # e-mail, SMS, pipeline webhooks: settled one by one
            if note.kind != "event":
                result = attempt(note)
                with engine.begin() as conn:
                    settle(conn, *result)
        events = [n for n in claimed if n.kind == "event"]
        if events:
            threads = max(1, min(int(getattr(settings, "webhooks_concurrency", 1)), len(events)))
            with ThreadPoolExecutor(threads, thread_name_prefix="webhooks") as pool:
                results = list(pool.map(attempt, events))
            # One commit for the pass's events (a commit is the costly part on SQLite): a
            # crash before it sends them again, which at-least-once with stable ids allows.
            with engine.begin() as conn:
                for result in results:
                    settle(conn, *result)
                _events().write_log(conn, attempt_log)
    finally:
        if own_client:
            client.close()
    return report
