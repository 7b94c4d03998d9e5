"""Integration events: the catalogue, the payload shapes, and `emit`.

`emit(session, type, subject, payload, now)` is called at each cause, in the cause's own
transaction: it writes one outbox row per active endpoint subscribed to the type (none when
nobody listens), so an event is delivered iff its cause committed. Every row carries the same
envelope and event id — `{"id", "type", "version", "timestamp", "subject", "data"}` — and the
id is the `webhook-id` header: stable across retries and replays, for de-duplication.

The subject orders deliveries: events of one subject reach each endpoint in the order they
were emitted (see outbox.claim_due). Subjects are `customer:<id>`, so an interaction, its
survey, the answer and the recovery task it opened arrive in that order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from feedback.integrations.models import WebhookEndpoint
from feedback.notifications.outbox import enqueue_many, notification

VERSION = 1
# type -> what `data` holds (the OpenAPI "webhooks" section and /api/integrations/event-types).
EVENT_TYPES: dict[str, str] = {
    "interaction.created": "A closed interaction was recorded (API, CSV, helpdesk).",
    "survey.sent": "A survey invitation left by SMS or e-mail.",
    "survey.failed": "A survey invitation could not be sent (reason given).",
    "response.created": "A customer answered: score, score class, redacted comment, themes.",
    "task.created": "A recovery task was opened (detractor, keyword, theme).",
    "task.assigned": "A recovery task got an owner.",
    "task.sla_warning": "80 % of a recovery task's SLA window has passed.",
    "task.sla_breached": "A recovery task missed its first-contact or resolution deadline.",
    "task.resolved": "A recovery task was resolved (outcome, root cause).",
    "followup.answered": "The customer answered the follow-up after their task was resolved.",
    "themes.daily": "Yesterday's top comment themes (once a day, for Slack digests).",
    "pipeline.alert": "A pipeline-health alert opened or resolved (`state`, `alert`).",
}
TEST_TYPE = "webhook.test"  # only sent by "send test event", to one endpoint
_CACHE = "integrations.endpoints"


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def envelope(type_: str, subject: str, data: dict[str, Any], now: datetime,
             event_id: str | None = None) -> dict[str, Any]:
    return {"id": event_id or new_event_id(), "type": type_, "version": VERSION,
            "timestamp": now.isoformat(), "subject": subject, "data": data}


def delivery_row(endpoint_id: int, env: dict[str, Any], now: datetime) -> dict[str, Any]:
    row = notification(kind="event", target=f"endpoint:{endpoint_id}", now=now,
                       subject=env["type"], payload=env,
                       dedupe_key=f"event:{env['id']}:{endpoint_id}")
    row.update(endpoint_id=endpoint_id, ordering_key=f"{endpoint_id}:{env['subject']}"[:200])
    return row


def _listeners(session: Session) -> list[tuple[int, list[str]]]:
    """Active endpoints and their types, read once per transaction (a batch of 1000
    interactions asks once, not 1000 times)."""
    txn = session.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is not None and cached[0] is txn:
        return cached[1]  # type: ignore[no-any-return]
    t = WebhookEndpoint.__table__  # type: ignore[attr-defined]
    rows = session.execute(sa.select(t.c.id, t.c.event_types).where(t.c.active.is_(True))
                           .order_by(t.c.id)).all()
    found = [(int(r.id), list(r.event_types or [])) for r in rows]
    session.info[_CACHE] = (txn, found)
    return found


def listening(session: Session, type_: str) -> bool:
    """Whether any endpoint wants `type_` (skip building a payload nobody will read)."""
    return any("*" in types or type_ in types for _, types in _listeners(session))


def forget_listeners(session: Session) -> None:
    session.info.pop(_CACHE, None)


def emit(session: Session, type_: str, subject: str, payload: dict[str, Any],
         now: datetime, *, event_id: str | None = None) -> str | None:
    """Queue `type_` for every subscribed endpoint; returns the event id (None: no listener).
    A fixed `event_id` makes a repeated emit a no-op (the outbox's unique dedupe key)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    targets = [eid for eid, types in _listeners(session) if "*" in types or type_ in types]
    if not targets:
        return None
    env = envelope(type_, subject, payload, now, event_id)
    enqueue_many(session, [delivery_row(eid, env, now) for eid in targets])
    return str(env["id"])


def emit_many(session: Session, type_: str, items: list[tuple[str, dict[str, Any]]],
              now: datetime) -> int:
    """`emit` for a batch ((subject, data) each), one INSERT for all: the ingest batch path."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    targets = [eid for eid, types in _listeners(session) if "*" in types or type_ in types]
    if not targets or not items:
        return 0
    rows: list[dict[str, Any]] = []
    for subject, data in items:
        env = envelope(type_, subject, data, now)
        rows.extend(delivery_row(eid, env, now) for eid in targets)
    enqueue_many(session, rows)
    return len(items)


def emit_conn(conn: Connection, type_: str, items: list[tuple[str, dict[str, Any]]],
              now: datetime) -> int:
    """`emit_many` for code that holds a Connection (outreach's dispatcher, via the worker's
    extras: outreach may not import the application): a settled batch's events, (subject,
    data) each, with one look-up of the listeners and one INSERT."""
    with Session(bind=conn) as session:
        return emit_many(session, type_, items, now)


# --- payload shapes (version 1) ----------------------------------------------------------------

def customer_subject(customer_id: int | None) -> str:
    return f"customer:{customer_id}"


def interaction_data(interaction: Any, interaction_id: int | None = None,
                     customer_id: int | None = None) -> dict[str, Any]:
    """From an Interaction row, or from an ingest item with its new ids."""
    channel = getattr(interaction.channel, "value", interaction.channel)
    return {"interaction": {
        "id": interaction_id or getattr(interaction, "id", None),
        "external_id": interaction.external_id, "channel": channel,
        "occurred_at": interaction.occurred_at.isoformat(), "agent": interaction.agent,
        "team": interaction.team, "queue": interaction.queue},
        "customer_id": customer_id or getattr(interaction, "customer_id", None)}


def interactions_created(session: Session, items: list[Any], ids: dict[str, int],
                         created: set[str], customer_ids: list[int | None], now: datetime) -> None:
    """`interaction.created` for the new ones of an ingest batch (items in batch order)."""
    if not listening(session, "interaction.created"):
        return
    emit_many(session, "interaction.created", [
        (customer_subject(cid), interaction_data(item, ids[item.external_id], cid))
        for item, cid in zip(items, customer_ids, strict=True) if item.external_id in created], now)


def response_data(response: Any, themes: list[str]) -> dict[str, Any]:
    """The stored comment is already redacted (surveys.service applies the privacy rules)."""
    return {"response": {
        "id": response.id, "invitation_id": response.invitation_id,
        "survey": response.kind, "score": response.score,
        "score_class": response.classification, "comment": response.comment,
        "submitted_at": response.submitted_at.isoformat(), "themes": themes},
        "customer_id": response.customer_id, "interaction_id": response.interaction_id}


def task_data(task: Any, **extra: Any) -> dict[str, Any]:
    """`task.path` is relative: deliveries add `task.url` from the current public URL."""
    return {"task": {
        "id": task.id, "path": f"/queue/{task.id}", "status": task.status,
        "priority": task.priority, "team": task.team, "agent": task.agent,
        "owner_id": task.owner_id, "kind": task.kind, "score": task.score,
        "opened_at": task.opened_at.isoformat(),
        "first_contact_due_at": _iso(task.first_contact_due_at),
        "resolution_due_at": _iso(task.resolution_due_at)},
        "customer_id": task.customer_id, **extra}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# Recovery's history actions that are integration events (see `task_event`).
_TASK_ACTIONS = {"opened": "task.created", "assigned": "task.assigned", "claimed": "task.assigned",
                 "warning": "task.sla_warning", "breach": "task.sla_breached",
                 "followup_answer": "followup.answered"}


def task_event(session: Session, task: Any, action: str, after: Any, now: datetime) -> None:
    """Called by recovery's `record` (every change of a task is written to its history there,
    so no cause can forget its event). Cheap when nobody listens: one cached read."""
    type_ = _TASK_ACTIONS.get(action)
    if action == "status" and str(after) in ("resolved", "unreachable"):
        type_ = "task.resolved"
    if type_ is None or not _listeners(session):
        return
    extra: dict[str, Any] = {}
    if type_ == "task.created":
        from feedback.insights.service import themes_for
        from surveys.models import Response

        response = session.get(Response, task.response_id) if task.response_id else None
        extra = {"response_id": task.response_id, "triggers": list(task.triggers or []),
                 "comment": response.comment if response else None,
                 "themes": themes_for(session, task.response_id) if task.response_id else []}
    elif type_ == "task.assigned":
        extra = {"owner": str(after) if after is not None else None}
    elif type_ in ("task.sla_warning", "task.sla_breached"):
        due = getattr(task, f"{after}_due_at", None)
        extra = {"window": str(after), "due_at": _iso(due)}
    elif type_ == "task.resolved":
        extra = {"outcome": task.outcome, "root_cause": task.root_cause}
    elif type_ == "followup.answered":
        extra = {"response": {"id": task.followup_response_id, "score": task.followup_score,
                              "score_class": task.followup_classification}, "task_id": task.id}
    emit(session, type_, customer_subject(task.customer_id), task_data(task, **extra), now)


def openapi_webhooks() -> dict[str, Any]:
    """The OpenAPI 3.1 `webhooks` section: what each event POSTs to a subscriber."""
    envelope_schema = {
        "type": "object", "required": ["id", "type", "version", "timestamp", "subject", "data"],
        "properties": {
            "id": {"type": "string", "description": "stable event id (= webhook-id header): de-duplicate on it"},
            "type": {"type": "string"}, "version": {"type": "integer", "const": VERSION},
            "timestamp": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "customer:<id>; events of a subject arrive in order"},
            "data": {"type": "object"}}}
    headers = {h: {"schema": {"type": "string"}, "required": True, "description": d} for h, d in (
        ("webhook-id", "the event id"), ("webhook-timestamp", "Unix seconds of this attempt"),
        ("webhook-signature", "space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>"))}
    out: dict[str, Any] = {}
    for type_, description in {**EVENT_TYPES, TEST_TYPE: "Sent by \"send test event\"."}.items():
        out[type_] = {"post": {
            "summary": type_, "description": description, "tags": ["integrations"],
            "parameters": [{"name": h, "in": "header", **spec} for h, spec in headers.items()],
            "requestBody": {"required": True, "content": {"application/json": {"schema": envelope_schema}}},
            "responses": {"2XX": {"description": "received; anything else is retried for 24 h"}}}}
    return out
