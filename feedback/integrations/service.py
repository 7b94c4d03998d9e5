"""Rules of integrations: subscriptions, secret rotation, test events, replay, and the
endpoints that settings define (the recovery breach webhook and Slack of earlier versions).

Every function takes the session and `now`; nothing here sends: sending is the worker's
(feedback.notifications.delivery → feedback.integrations.delivery).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.integrations import events, repository, signing, ssrf
from feedback.integrations.models import EndpointKind, WebhookEndpoint
from feedback.integrations.schemas import EndpointIn, EndpointUpdate, ReplayIn
from feedback.notifications.models import Notification, NotificationStatus
from feedback.notifications.outbox import enqueue_many
from surveys.errors import ValidationFailed
from surveys.sql import insert_ignore

_N = Notification.__table__  # type: ignore[attr-defined]
_E = WebhookEndpoint.__table__  # type: ignore[attr-defined]


def check_url(url: str, settings: Any) -> None:
    try:
        ssrf.check(url, allow_private=settings.webhooks_allow_private)
    except ssrf.Refused as exc:
        raise ValidationFailed(f"url: {exc}", field="url") from exc


def create_endpoint(session: Session, data: EndpointIn, *, now: datetime, settings: Any) -> WebhookEndpoint:
    check_url(data.url, settings)
    ep = WebhookEndpoint(name=data.name, url=data.url, kind=data.kind.value,
                         event_types=data.event_types, secret=signing.new_secret(),
                         created_at=now, updated_at=now)
    session.add(ep)
    session.flush()
    events.forget_listeners(session)
    return ep


def update_endpoint(session: Session, endpoint_id: int, data: EndpointUpdate, *, now: datetime,
                    settings: Any) -> WebhookEndpoint:
    ep = repository.endpoint(session, endpoint_id, lock=True)
    if data.url is not None:
        check_url(data.url, settings)
        ep.url = data.url
    if data.name is not None:
        ep.name = data.name
    if data.event_types is not None:
        ep.event_types = data.event_types
    if data.active is not None and data.active != ep.active:
        ep.active = data.active
        # Enabled again: the failure clock starts afresh (the receiver was presumably fixed).
        ep.failing_since = None
        ep.disabled_at = None if data.active else now
        ep.disabled_reason = None if data.active else "disabled by an admin"
    ep.updated_at = now
    session.add(ep)
    session.flush()
    events.forget_listeners(session)
    return ep


def rotate_secret(session: Session, endpoint_id: int, *, now: datetime, settings: Any) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs too for the overlap, so receivers
    switch over without a rejected message."""
    ep = repository.endpoint(session, endpoint_id, lock=True)
    if ep.kind != EndpointKind.WEBHOOK:
        raise ValidationFailed("Slack destinations are not signed; nothing to rotate", field="kind")
    ep.previous_secret, ep.secret = ep.secret, signing.new_secret()
    ep.previous_secret_until = now + timedelta(hours=settings.webhooks_rotation_overlap_hours)
    ep.updated_at = now
    session.add(ep)
    session.flush()
    return ep


def send_test(session: Session, endpoint_id: int, *, now: datetime) -> str:
    """Queue a `webhook.test` event to this endpoint only (even a disabled one is refused)."""
    ep = repository.endpoint(session, endpoint_id)
    if not ep.active:
        raise ValidationFailed("the endpoint is disabled; enable it first", field="active")
    env = events.envelope(events.TEST_TYPE, f"endpoint:{ep.id}",
                          {"message": "a test event", "endpoint": ep.name}, now)
    enqueue_many(session, [events.delivery_row(int(ep.id or 0), env, now)])
    return str(env["id"])


def replay(session: Session, endpoint_id: int, data: ReplayIn, *, now: datetime) -> int:
    """Send failed deliveries again — the same event id, so receivers can de-duplicate.
    Conditional UPDATE: a delivery that is not failed (or not this endpoint's) is left alone."""
    ep = repository.endpoint(session, endpoint_id)
    if not ep.active:
        raise ValidationFailed("the endpoint is disabled; enable it first", field="active")
    if not data.delivery_ids and data.failed_since is None:
        raise ValidationFailed("give delivery_ids or failed_since", field="delivery_ids")
    where = [_N.c.endpoint_id == endpoint_id, _N.c.status == NotificationStatus.FAILED]
    if data.delivery_ids:
        where.append(_N.c.id.in_(data.delivery_ids))
    if data.failed_since is not None:
        where.append(_N.c.created_at >= data.failed_since)
    # A replay gets one more day of retries: its creation time restarts the 24 h clock (the
    # event id and payload, which receivers see, do not change).
    result = session.execute(sa.update(_N).where(*where).values(
        status=NotificationStatus.PENDING, next_attempt_at=now, attempts=0, last_error=None,
        lease_owner=None, lease_until=None, created_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_endpoint(session: Session, endpoint_id: int) -> None:
    ep = repository.endpoint(session, endpoint_id, lock=True)
    session.execute(sa.update(_N).where(
        _N.c.endpoint_id == ep.id, _N.c.status.in_([NotificationStatus.PENDING])).values(
        status=NotificationStatus.FAILED, next_attempt_at=None, last_error="endpoint deleted"))
    session.delete(ep)
    session.flush()
    events.forget_listeners(session)


# --- endpoints defined by settings -------------------------------------------------------------

SETTINGS_ENDPOINTS = {
    # source: (settings attribute, kind, event types)
    "settings:recovery_webhook_url": ("recovery_webhook_url", EndpointKind.WEBHOOK, ["task.sla_breached"]),
    "settings:recovery_slack_webhook_url": ("recovery_slack_webhook_url", EndpointKind.SLACK,
                                            ["task.sla_breached"]),
}


def sync_settings_endpoints(session: Session, settings: Any, now: datetime) -> None:
    """FEEDBACK_RECOVERY_WEBHOOK_URL / _SLACK_WEBHOOK_URL are subscriptions to
    `task.sla_breached` like any other (one event system): kept in step with the settings at
    start-up. The webhook's signing secret is FEEDBACK_RECOVERY_WEBHOOK_SECRET's bytes (as
    `whsec_` + base64). No SSRF check for these: the operator, not a web form, wrote the URL."""
    for source, (attr, kind, types) in SETTINGS_ENDPOINTS.items():
        url = getattr(settings, attr, None)
        if not url:
            session.execute(sa.update(_E).where(_E.c.source == source, _E.c.active.is_(True))
                            .values(active=False, disabled_at=now, updated_at=now,
                                    disabled_reason="no longer configured in the settings"))
            continue
        secret = (signing.secret_from_text(settings.recovery_webhook_secret)
                  if kind == EndpointKind.WEBHOOK and settings.recovery_webhook_secret
                  else signing.new_secret())
        row = {"name": attr.removesuffix("_url").replace("_", " "), "url": url, "kind": kind.value,
               "event_types": types, "secret": secret, "active": True, "source": source,
               "created_at": now, "updated_at": now}
        if not insert_ignore(session, _E, row, ["source"]):
            # Configured again after being removed: active again (a failure-disabled one stays
            # disabled until an admin enables it).
            values: dict[str, Any] = {"url": url, "updated_at": now, "active": sa.case(
                (_E.c.disabled_reason == "no longer configured in the settings", True),
                else_=_E.c.active)}
            if settings.recovery_webhook_secret and kind == EndpointKind.WEBHOOK:
                values["secret"] = secret
            session.execute(sa.update(_E).where(_E.c.source == source).values(**values))
    events.forget_listeners(session)


