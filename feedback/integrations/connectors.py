"""Rules of helpdesk connectors: set one up, receive its webhook, preview a generic mapping.

`receive` authenticates the request with the connector's secret, maps the helpdesk's JSON
(helpdesk.py) and hands the result to the ingest service's public functions — the same
validation, upserts and survey scheduling as `POST /api/interactions`, idempotent on the
helpdesk's ids (`zendesk:<ticket id>`, …).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select

from feedback.ingest.service import ingest_one, parse_payload
from feedback.integrations import helpdesk
from feedback.integrations.models import HelpdeskConnector
from surveys.errors import DomainError, Forbidden, NotFound, ValidationFailed

_C = HelpdeskConnector.__table__  # type: ignore[attr-defined]
MAX_BODY = 512 * 1024


class ConnectorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: str = Field(pattern="^(zendesk|freshdesk|intercom|generic)$")
    name: str = Field(min_length=1, max_length=100)
    # Zendesk's signing secret / Intercom's client secret; made for you when left out
    # (Freshdesk and generic: the bearer token their webhook must send).
    secret: str | None = Field(default=None, min_length=8, max_length=200)
    mapping: dict[str, str] = Field(default_factory=dict, max_length=len(helpdesk.MAPPABLE))
    active: bool = True

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, v: dict[str, str]) -> dict[str, str]:
        for field, path in v.items():
            if field not in helpdesk.MAPPABLE:
                raise ValueError(f"{field!r} is not a mappable field (one of {', '.join(helpdesk.MAPPABLE)})")
            if not isinstance(path, str) or len(path) > 300:
                raise ValueError(f"{field}: a JSON path like ticket.assignee.name (≤ 300 characters)")
        return v


class ConnectorUpdate(BaseModel):
    """PUT: the fields to change (the kind is fixed: its webhook URL is set up in the helpdesk)."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    secret: str | None = Field(default=None, min_length=8, max_length=200)
    mapping: dict[str, str] | None = Field(default=None, max_length=len(helpdesk.MAPPABLE))
    active: bool | None = None

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return None if v is None else ConnectorIn._mapping(v)


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sample: Any = None
    mapping: dict[str, str] | None = Field(default=None, max_length=len(helpdesk.MAPPABLE))


def connector_json(c: HelpdeskConnector, public_url: str, *, with_secret: bool = False) -> dict[str, Any]:
    out = {"id": c.id, "kind": c.kind, "name": c.name, "mapping": c.mapping, "active": c.active,
           "url": f"{public_url}/webhooks/helpdesk/{c.id}", "received": c.received,
           "last_received_at": c.last_received_at.isoformat() if c.last_received_at else None}
    if with_secret:
        out["secret"] = c.secret
    return out


def _check_mapping(kind: str, mapping: dict[str, str]) -> None:
    if kind == "generic" and not {"external_id", "occurred_at"} <= set(mapping):
        raise ValidationFailed("mapping: a generic connector needs external_id and occurred_at paths",
                               field="mapping")


def create(session: Session, data: ConnectorIn, *, now: datetime) -> HelpdeskConnector:
    _check_mapping(data.kind, data.mapping)
    c = HelpdeskConnector(kind=data.kind, name=data.name, secret=data.secret or secrets.token_urlsafe(24),
                          mapping=data.mapping, active=data.active, created_at=now, updated_at=now)
    session.add(c)
    session.flush()
    return c


def get(session: Session, connector_id: int) -> HelpdeskConnector:
    c = session.get(HelpdeskConnector, connector_id)
    if c is None:
        raise NotFound(f"connector {connector_id} not found", code="unknown_connector")
    return c


def update(session: Session, connector_id: int, data: ConnectorUpdate, *,
           now: datetime) -> HelpdeskConnector:
    c = get(session, connector_id)
    if data.mapping is not None:
        _check_mapping(c.kind, data.mapping)
        c.mapping = data.mapping
    for attr in ("name", "secret", "active"):
        if (value := getattr(data, attr)) is not None:
            setattr(c, attr, value)
    c.updated_at = now
    session.add(c)
    session.flush()
    return c


def delete(session: Session, connector_id: int) -> None:
    """Its interactions stay (they are the customers' history); its URL answers 403 from now."""
    session.delete(get(session, connector_id))
    session.flush()


def all_connectors(session: Session) -> list[HelpdeskConnector]:
    return list(session.exec(select(HelpdeskConnector).order_by(HelpdeskConnector.id)).all())  # type: ignore[arg-type]


def _map(kind: str, mapping: dict[str, str], doc: Any) -> dict[str, Any] | str:
    if kind == "generic":
        return helpdesk.map_generic(doc, mapping)
    return helpdesk.MAPPERS[kind](doc)


def preview(kind: str, mapping: dict[str, str], sample: Any, settings: Any,
            now: datetime) -> dict[str, Any]:
    """What a sample payload would become, with every problem named — nothing is stored."""
    try:
        mapped = _map(kind, mapping, sample)
    except helpdesk.Unmappable as exc:
        return {"interaction": None, "skipped": False, "errors": [{"field": exc.field, "message": str(exc)}]}
    if mapped == helpdesk.SKIP:
        return {"interaction": None, "skipped": True, "errors": []}
    try:
        parse_payload(mapped, settings, now)
    except ValidationFailed as exc:
        errors = (exc.extra or {}).get("errors") or [{"field": exc.field, "message": exc.message}]
        return {"interaction": mapped, "skipped": False, "errors": errors}
    return {"interaction": mapped, "skipped": False, "errors": []}


def receive(session: Session, connector_id: int, headers: dict[str, str], body: bytes, *,
            now: datetime, settings: Any) -> dict[str, Any]:
    c = session.get(HelpdeskConnector, connector_id)
    # One answer for "no such connector" and "bad signature": ids cannot be probed.
    if c is None or not c.active or not helpdesk.VERIFY[c.kind](c.secret, headers, body):
        raise Forbidden("the request is not signed for this connector", code="bad_signature")
    if c.kind == "zendesk" and (stale := helpdesk.zendesk_stale(headers, now)):
        raise Forbidden(stale, code="stale_timestamp")
    if len(body) > MAX_BODY:
        raise DomainError("the body is larger than 512 KiB", status_code=413, code="too_large")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("body: not JSON", field="body") from exc
    try:
        mapped = _map(c.kind, c.mapping, doc)
    except helpdesk.Unmappable as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    if mapped == helpdesk.SKIP:
        return {"skipped": True, "reason": "not a solved ticket / closed conversation"}
    [item] = parse_payload(mapped, settings, now)
    result = ingest_one(session, item, now=now, settings=settings)
    session.execute(sa.update(_C).where(_C.c.id == c.id).values(
        received=_C.c.received + 1, last_received_at=now))
    return {"skipped": False, "external_id": result.external_id,
            "interaction_id": result.interaction_id, "created": result.created}
