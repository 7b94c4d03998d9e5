"""Inputs of the integrations API and forms (422s naming the field) and the JSON shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from feedback.edge import DbId
from feedback.integrations.events import EVENT_TYPES
from feedback.integrations.models import EndpointKind
from feedback.recovery.schemas import parse

__all__ = ["EndpointIn", "EndpointUpdate", "ReplayIn", "endpoint_json", "delivery_json", "parse"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_types(v: list[str] | None) -> list[str] | None:
    if v is None:
        return v
    unknown = [t for t in v if t != "*" and t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type {unknown[0]!r} (known: *, {', '.join(EVENT_TYPES)})")
    if not v:
        raise ValueError("choose at least one event type (or \"*\" for all)")
    return list(dict.fromkeys(v))


class EndpointIn(_In):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=1000)
    kind: EndpointKind = EndpointKind.WEBHOOK
    event_types: list[str] = Field(default_factory=lambda: ["*"], max_length=len(EVENT_TYPES) + 1)
    _types = field_validator("event_types")(_check_types)


class EndpointUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, min_length=1, max_length=1000)
    event_types: list[str] | None = Field(default=None, max_length=len(EVENT_TYPES) + 1)
    active: bool | None = None
    _types = field_validator("event_types")(_check_types)


class ReplayIn(_In):
    """Which failed deliveries to send again: these ids, or every failed one since a time."""
    delivery_ids: list[DbId] | None = Field(default=None, max_length=1000)
    failed_since: datetime | None = None


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v else None


def endpoint_json(ep: Any, *, with_secret: bool = False) -> dict[str, Any]:
    out = {"id": ep.id, "name": ep.name, "url": ep.url, "kind": ep.kind,
           "event_types": list(ep.event_types or []), "active": ep.active,
           "disabled_at": _iso(ep.disabled_at), "disabled_reason": ep.disabled_reason,
           "failing_since": _iso(ep.failing_since), "source": ep.source,
           "rotating_until": _iso(ep.previous_secret_until) if ep.previous_secret else None,
           "created_at": _iso(ep.created_at), "updated_at": _iso(ep.updated_at)}
    if with_secret:
        out["secret"] = ep.secret
    return out


def delivery_json(n: Any, attempts: list[Any]) -> dict[str, Any]:
    return {"id": n.id, "event_id": (n.payload or {}).get("id"), "type": n.subject,
            "subject": (n.payload or {}).get("subject"), "status": n.status,
            "attempts": n.attempts, "next_attempt_at": _iso(n.next_attempt_at),
            "last_error": n.last_error, "created_at": _iso(n.created_at), "sent_at": _iso(n.sent_at),
            "log": [{"at": _iso(a.at), "attempt": a.attempt, "ok": a.ok, "status_code": a.status_code,
                     "error": a.error, "duration_ms": a.duration_ms} for a in attempts]}
