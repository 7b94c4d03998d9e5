"""The privacy JSON API: find a customer, export everything about them, erase them.

Find is for staff (team-scoped: a customer belongs to the teams that served them); export is for
leads (it is every piece of personal data we hold); erase is for admins only and needs a reason.
The permission table (`customer.find`, `customer.export`, `customer.erase`) decides.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import JSONBody

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow, request_team
from feedback.deps import Conf, Db, Now
from feedback.privacy import repository, service
from feedback.privacy.schemas import customer_json, parse_erase

_TAGS = ["privacy"]


@get("/api/customers", sync_to_thread=True, guards=[allow("customer.find")], tags=_TAGS,
     summary="Find customers by external id, e-mail or phone (every given key must match)")
def find_customers(request: Request[Any, Any, Any], db: Db, settings: Conf,
                   external_id: str | None = None, email: str | None = None,
                   phone: str | None = None) -> dict[str, Any]:
    found = service.find(db, external_id=external_id, email=email, phone=phone,
                         team=request_team(request), phone_region=settings.default_phone_region)
    return {"items": [customer_json(c, repository.erasure(db, int(c.id or 0)) is not None)
                      for c in found]}


@get("/api/customers/{customer_id:int}/export", sync_to_thread=True,
     guards=[allow("customer.export")], tags=_TAGS,
     summary="Everything held about one customer, as one JSON document")
def export_customer(customer_id: int, request: Request[Any, Any, Any], db: Db,
                    now: Now) -> dict[str, Any]:
    service.visible(db, customer_id, request_team(request))
    return service.export(db, customer_id, now)


@post("/api/customers/{customer_id:int}/erase", sync_to_thread=True, guards=[allow("customer.erase")],
      tags=_TAGS, status_code=200,
      summary="Erase one customer's personal data (admin; idempotent; scores stay counted)")
def erase_customer(customer_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                   settings: Conf, data: JSONBody[dict[str, Any] | None] = None) -> dict[str, Any]:
    body = parse_erase(data)
    principal = provide_principal(request)
    result = service.erase(db, customer_id, reason=body.reason, actor=principal.name, now=now,
                           key=settings.secret_key)
    return result.as_json()


routes = [find_customers, export_customer, erase_customer]
