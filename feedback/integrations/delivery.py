"""Sending one event delivery (an outbox row of kind "event") and settling its endpoint.

`send` runs outside any transaction (notifications.delivery calls it between the claim and
the settle): it reads the endpoint, checks the destination again (DNS rebinding), signs and
POSTs. `settled` runs inside the settle transaction: it writes the delivery log row, and after
`webhooks_disable_after_hours` of unbroken failure disables the endpoint, gives up its waiting
deliveries (they can be replayed) and tells the admins by e-mail — through the same outbox.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from feedback.auth.models import Role, User
from feedback.integrations import signing, slack, ssrf
from feedback.integrations.models import EndpointKind, WebhookAttempt, WebhookEndpoint
from feedback.notifications.delivery import Transient
from feedback.notifications.models import Notification, NotificationStatus
from feedback.notifications.outbox import Claimed, enqueue_many, notification

_E = WebhookEndpoint.__table__  # type: ignore[attr-defined]
_A = WebhookAttempt.__table__  # type: ignore[attr-defined]
_N = Notification.__table__  # type: ignore[attr-defined]
_RETRYABLE_STATUS = {408, 409, 425, 429}


class DeliveryError(Transient):
    """A failed try; `permanent` when retrying cannot help (a refusal, a disabled endpoint)."""

    def __init__(self, message: str, *, status_code: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status_code, self.permanent = status_code, permanent


def load_endpoint(engine: Engine, endpoint_id: int | None) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(_E).where(_E.c.id == endpoint_id)).first()


def active_secrets(ep: Any, now: datetime) -> list[str]:
    out = [ep.secret]
    if ep.previous_secret and ep.previous_secret_until and ep.previous_secret_until > now:
        out.append(ep.previous_secret)
    return out


def with_urls(payload: dict[str, Any], public_url: str) -> dict[str, Any]:
    """Links are stored relative (`task.path`) and made absolute when sent."""
    task = (payload.get("data") or {}).get("task")
    if not isinstance(task, dict) or "path" not in task:
        return payload
    data = {**payload["data"], "task": {**task, "url": public_url + task["path"]}}
    return {**payload, "data": data}


def body_for(ep: Any, payload: dict[str, Any], settings: Any) -> bytes:
    payload = with_urls(payload, settings.public_url)
    data = slack.message(payload, settings) if ep.kind == EndpointKind.SLACK else payload
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def send(note: Claimed, settings: Any, client: httpx.Client, engine: Engine,
         now: datetime, endpoints: dict[int | None, Any] | None = None) -> tuple[int, int]:
    """POST the event; returns (status code, milliseconds). Raises DeliveryError.
    `endpoints` caches the endpoint rows for one delivery pass."""
    if endpoints is None:
        endpoints = {}
    if note.endpoint_id not in endpoints:
        endpoints[note.endpoint_id] = load_endpoint(engine, note.endpoint_id)
    ep = endpoints[note.endpoint_id]
    if ep is None or not ep.active:
        raise DeliveryError("the endpoint is disabled or deleted", permanent=True)
    # An endpoint from the settings was written by the operator, who may mean an internal
    # address; the SSRF rule guards what the web UI and API let an admin type in.
    trusted = settings.webhooks_allow_private or bool(ep.source)
    try:
        ssrf.check(ep.url, allow_private=trusted)
    except ssrf.Refused as exc:
        raise DeliveryError(f"refused: {exc}") from exc
    if not trusted:
        client = _guarded()
    body = body_for(ep, note.payload, settings)
    headers = {"Content-Type": "application/json", "User-Agent": "feedback-webhooks/1"}
    if ep.kind == EndpointKind.WEBHOOK:
        headers.update(signing.headers(active_secrets(ep, now), str(note.payload.get("id")),
                                       int(time.time()), body))
    started = time.perf_counter()
    try:
        r = client.post(ep.url, content=body, headers=headers,
                        timeout=settings.notification_timeout_seconds)
    except httpx.HTTPError as exc:  # refused, reset, DNS, timeout: it may come back
        raise DeliveryError(f"{exc.__class__.__name__}: {exc}"[:500]) from exc
    except ssrf.Refused as exc:  # the name changed its answer between the check and the connect
        raise DeliveryError(f"refused: {exc}") from exc
    ms = int((time.perf_counter() - started) * 1000)
    if r.is_success:
        return r.status_code, ms
    permanent = r.status_code < 500 and r.status_code not in _RETRYABLE_STATUS
    raise DeliveryError(f"HTTP {r.status_code}: {r.text[:200]}", status_code=r.status_code,
                        permanent=permanent)


_GUARDED: list[httpx.Client] = []
_GUARDED_LOCK = threading.Lock()


def _guarded() -> httpx.Client:
    """The process's SSRF-guarded client (keep-alive across passes; thread-safe like httpx)."""
    with _GUARDED_LOCK:
        if not _GUARDED:
            _GUARDED.append(ssrf.guarded_client())
        return _GUARDED[0]


def give_up(note: Claimed, exc: Exception, settings: Any, now: datetime) -> bool:
    """Retry with backoff for `webhooks_retry_hours` (24 h) from the event's creation;
    a refusal (4xx other than 408/409/425/429) or a disabled endpoint ends it at once."""
    if isinstance(exc, DeliveryError) and exc.permanent:
        return True
    return note.created_at is not None and now - note.created_at >= timedelta(
        hours=settings.webhooks_retry_hours)


def settled(conn: Connection, note: Claimed, *, now: datetime, settings: Any,
            error: Exception | None = None, status_code: int | None = None,
            ms: int | None = None, endpoint: Any = None,
            log: list[dict[str, Any]] | None = None) -> None:
    """The delivery log row, the endpoint's failure clock, and disabling after 24 h.
    `endpoint`: its row as read for this pass (a success need not touch a healthy endpoint)."""
    if isinstance(error, DeliveryError):
        status_code = error.status_code
    row = dict(notification_id=note.id, endpoint_id=note.endpoint_id or 0,
               event_id=str(note.payload.get("id", ""))[:40],
               event_type=str(note.payload.get("type", ""))[:60], attempt=note.attempts, at=now,
               ok=error is None, status_code=status_code,
               error=str(error)[:500] if error else None, duration_ms=ms)
    if log is not None:  # the caller writes a pass's log rows in one statement (write_log)
        log.append(row)
    else:
        conn.execute(sa.insert(_A), [row])
    if note.endpoint_id is None:
        return
    mine = _E.c.id == note.endpoint_id
    if error is None:
        if endpoint is not None and endpoint.failing_since is None:
            return
        conn.execute(sa.update(_E).where(mine, _E.c.failing_since.is_not(None))
                     .values(failing_since=None))
        return
    conn.execute(sa.update(_E).where(mine, _E.c.failing_since.is_(None)).values(failing_since=now))
    limit = now - timedelta(hours=settings.webhooks_disable_after_hours)
    disabled = conn.execute(
        sa.update(_E).where(mine, _E.c.active.is_(True), _E.c.failing_since <= limit)
        .values(active=False, disabled_at=now, updated_at=now,
                disabled_reason=f"every delivery failed for {settings.webhooks_disable_after_hours:g} h; "
                                f"last error: {error}"[:500])
        .returning(_E.c.id, _E.c.name, _E.c.url, _E.c.failing_since)).first()
    if disabled is not None:
        _on_disabled(conn, disabled, now=now, settings=settings, error=str(error))


def write_log(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(sa.insert(_A), rows)


def _on_disabled(conn: Connection, ep: Any, *, now: datetime, settings: Any, error: str) -> None:
    # Its waiting deliveries fail now (replayable from the delivery log once it is fixed),
    # rather than block each subject's order until someone re-enables it.
    conn.execute(sa.update(_N).where(
        _N.c.endpoint_id == ep.id, _N.c.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.FAILED, next_attempt_at=None,
                last_error="endpoint disabled after repeated failure"))
    with Session(bind=conn) as session:
        admins = session.execute(sa.select(User.email).where(  # type: ignore[call-overload]
            User.role == Role.ADMIN, User.active.is_(True))).scalars().all()  # type: ignore[attr-defined]
        subject = f"Webhook endpoint \"{ep.name}\" was disabled"
        body = (f"Every delivery to {ep.url} has failed since {ep.failing_since:%Y-%m-%d %H:%M} UTC, "
                f"so the endpoint was disabled.\n\nLast error: {error[:300]}\n\n"
                f"Fix the receiver, enable the endpoint and replay the failed deliveries:\n"
                f"{settings.public_url}/integrations/{ep.id}\n")
        enqueue_many(session, [notification(
            kind="email", target=email, now=now, subject=subject, body=body,
            payload={"event": "integrations.endpoint_disabled", "endpoint_id": ep.id},
            dedupe_key=f"integrations:{ep.id}:disabled:{now.isoformat()}:{email}")
            for email in admins])
        session.flush()
