"""The integrations JSON API under /api/integrations (admins): event subscriptions, their
delivery log, "send test event", replay and secret rotation; the event catalogue."""

from __future__ import annotations

from typing import Any

from litestar import Response, delete, get, post, put
from litestar.params import JSONBody

from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.integrations import events, repository, service
from feedback.integrations.schemas import (
    EndpointIn,
    EndpointUpdate,
    ReplayIn,
    delivery_json,
    endpoint_json,
    parse,
)

_TAGS = ["integrations"]
_STATUSES = ("pending", "sending", "sent", "failed")


@get("/api/integrations/event-types", sync_to_thread=False, guards=[allow("integration.read")],
     tags=_TAGS, summary="The event types an endpoint can subscribe to, and the envelope")
def event_types() -> dict[str, Any]:
    return {"version": events.VERSION, "types": [{"type": t, "description": d}
                                                  for t, d in events.EVENT_TYPES.items()],
            "envelope": ["id", "type", "version", "timestamp", "subject", "data"],
            "signature": "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature "
                         "(v1,<base64 HMAC-SHA256 of id.timestamp.body>, key = base64 part of whsec_…)"}


@get("/api/integrations/endpoints", sync_to_thread=True, guards=[allow("integration.read")],
     tags=_TAGS, summary="Every webhook and Slack endpoint")
def list_endpoints(db: Db) -> dict[str, Any]:
    return {"items": [endpoint_json(e) for e in repository.endpoints(db)]}


@post("/api/integrations/endpoints", sync_to_thread=True, guards=[allow("integration.manage")],
      tags=_TAGS, status_code=201,
      summary="Subscribe a URL to event types (the signing secret is returned)",
      description="Body: `EndpointIn` — name, url, kind (webhook | slack), event_types (or [\"*\"]). "
                  "URLs resolving to private or loopback addresses are refused.")
def create_endpoint(data: JSONBody[dict[str, Any]], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    ep = service.create_endpoint(db, parse(EndpointIn, data), now=now, settings=settings)
    return endpoint_json(ep, with_secret=True)


@get("/api/integrations/endpoints/{endpoint_id:int}", sync_to_thread=True,
     guards=[allow("integration.read")], tags=_TAGS, summary="One endpoint with its secret")
def get_endpoint(endpoint_id: int, db: Db) -> dict[str, Any]:
    ep = repository.endpoint(db, endpoint_id)
    return {**endpoint_json(ep, with_secret=True), "deliveries": repository.counts(db, endpoint_id)}


@put("/api/integrations/endpoints/{endpoint_id:int}", sync_to_thread=True,
     guards=[allow("integration.manage")], tags=_TAGS,
     summary="Change name, url, event types; enable or disable")
def update_endpoint(endpoint_id: int, data: JSONBody[dict[str, Any]], db: Db, now: Now,
                    settings: Conf) -> dict[str, Any]:
    ep = service.update_endpoint(db, endpoint_id, parse(EndpointUpdate, data), now=now, settings=settings)
    return endpoint_json(ep)


@delete("/api/integrations/endpoints/{endpoint_id:int}", sync_to_thread=True,
        guards=[allow("integration.manage")], tags=_TAGS, status_code=204,
        summary="Remove an endpoint (its waiting deliveries are given up)")
def delete_endpoint(endpoint_id: int, db: Db) -> None:
    service.delete_endpoint(db, endpoint_id)


@post("/api/integrations/endpoints/{endpoint_id:int}/rotate-secret", sync_to_thread=True,
      guards=[allow("integration.manage")], tags=_TAGS, status_code=200,
      summary="New signing secret; the old one keeps signing during the overlap")
def rotate(endpoint_id: int, db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    return endpoint_json(service.rotate_secret(db, endpoint_id, now=now, settings=settings),
                         with_secret=True)


@post("/api/integrations/endpoints/{endpoint_id:int}/test", sync_to_thread=True,
      guards=[allow("integration.manage")], tags=_TAGS, status_code=202,
      summary="Queue a webhook.test event to this endpoint")
def send_test(endpoint_id: int, db: Db, now: Now) -> dict[str, Any]:
    return {"event_id": service.send_test(db, endpoint_id, now=now)}


@get("/api/integrations/endpoints/{endpoint_id:int}/deliveries", sync_to_thread=True,
     guards=[allow("integration.read")], tags=_TAGS,
     summary="The delivery log: newest deliveries with every attempt's response code")
def deliveries(endpoint_id: int, db: Db, status: str | None = None) -> dict[str, Any]:
    repository.endpoint(db, endpoint_id)
    if status is not None and status not in _STATUSES:
        from surveys.errors import ValidationFailed

        raise ValidationFailed(f"status must be one of {', '.join(_STATUSES)}", field="status")
    return {"items": [delivery_json(n, a) for n, a in
                      repository.deliveries(db, endpoint_id, status=status, limit=100)]}


@post("/api/integrations/endpoints/{endpoint_id:int}/replay", sync_to_thread=True,
      guards=[allow("integration.manage")], tags=_TAGS, status_code=202,
      summary="Send failed deliveries again (same event ids)",
      description="Body: `ReplayIn` — delivery_ids, or failed_since (ISO time).")
def replay(endpoint_id: int, data: JSONBody[dict[str, Any]], db: Db, now: Now) -> Response[dict[str, Any]]:
    n = service.replay(db, endpoint_id, parse(ReplayIn, data), now=now)
    return Response({"replayed": n}, status_code=202)


routes = [event_types, list_endpoints, create_endpoint, get_endpoint, update_endpoint,
          delete_endpoint, rotate, send_test, deliveries, replay]
