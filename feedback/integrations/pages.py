"""The admin pages of integrations: /integrations (endpoints, add one) and /integrations/{id}
(edit, send a test event, rotate the secret, the delivery log, replay failed deliveries)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.integrations import events, repository, service
from feedback.integrations.schemas import EndpointIn, EndpointUpdate, ReplayIn, parse
from surveys.errors import ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _types(data: dict[str, str]) -> list[str]:
    """Checkboxes are named `ev:<type>` (one form field per type)."""
    return [k[3:] for k in data if k.startswith("ev:")]


def _list(db: Db, *, error: str | None = None, status: int = 200, form: dict[str, str] | None = None,
          helpdesk_error: str | None = None) -> Template:
    from feedback.integrations import connectors, helpdesk

    return Template(template_name="integrations/endpoints.html", status_code=status, context={
        "endpoints": repository.endpoints(db), "types": events.EVENT_TYPES, "error": error,
        "form": form or {}, "connectors": connectors.all_connectors(db),
        "helpdesk_kinds": helpdesk.KINDS, "helpdesk_error": helpdesk_error})


@get("/integrations", sync_to_thread=True, guards=[allow("integration.read")], include_in_schema=False)
def endpoints_page(db: Db, helpdesk_error: str | None = None) -> Template:
    return _list(db, helpdesk_error=(helpdesk_error or "")[:300] or None)


@post("/integrations", sync_to_thread=True, guards=[allow("integration.manage")], include_in_schema=False)
def create_form(db: Db, now: Now, settings: Conf, data: Form) -> Template | Redirect:
    try:
        body = parse(EndpointIn, {"name": data.get("name", ""), "url": data.get("url", ""),
                                  "kind": data.get("kind") or "webhook",
                                  "event_types": _types(data) or ["*"]})
        ep = service.create_endpoint(db, body, now=now, settings=settings)
    except ValidationFailed as exc:
        return _list(db, error=exc.message, status=422, form=data)
    return Redirect(f"/integrations/{ep.id}?done=created", status_code=303)


def _detail(db: Db, endpoint_id: int, *, error: str | None = None, notice: str | None = None,
            status: int = 200) -> Template:
    ep = repository.endpoint(db, endpoint_id)
    return Template(template_name="integrations/endpoint.html", status_code=status, context={
        "ep": ep, "types": events.EVENT_TYPES, "error": error, "notice": notice,
        "deliveries": repository.deliveries(db, endpoint_id, limit=50),
        "counts": repository.counts(db, endpoint_id)})


# Catalogue keys (feedback/locales) of what a finished action says on the detail page.
_NOTICES = {done: f"staff.integrations.done.{done}"
            for done in ("created", "saved", "tested", "rotated", "replayed")}


@get("/integrations/{endpoint_id:int}", sync_to_thread=True, guards=[allow("integration.read")],
     include_in_schema=False)
def endpoint_page(endpoint_id: int, db: Db, done: str | None = None) -> Template:
    return _detail(db, endpoint_id, notice=_NOTICES.get(done or ""))


def _act(db: Db, endpoint_id: int, done: str, fn: Any) -> Template | Redirect:
    try:
        fn()
    except ValidationFailed as exc:
        return _detail(db, endpoint_id, error=exc.message, status=422)
    return Redirect(f"/integrations/{endpoint_id}?done={done}", status_code=303)


@post("/integrations/{endpoint_id:int}", sync_to_thread=True, guards=[allow("integration.manage")],
      include_in_schema=False)
def update_form(endpoint_id: int, db: Db, now: Now, settings: Conf, data: Form) -> Template | Redirect:
    def go() -> None:
        body = parse(EndpointUpdate, {"name": data.get("name"), "url": data.get("url"),
                                      "event_types": _types(data) or ["*"],
                                      "active": data.get("active") == "true"})
        service.update_endpoint(db, endpoint_id, body, now=now, settings=settings)
    return _act(db, endpoint_id, "saved", go)


@post("/integrations/{endpoint_id:int}/test", sync_to_thread=True,
      guards=[allow("integration.manage")], include_in_schema=False)
def test_form(endpoint_id: int, db: Db, now: Now) -> Template | Redirect:
    return _act(db, endpoint_id, "tested", lambda: service.send_test(db, endpoint_id, now=now))


@post("/integrations/{endpoint_id:int}/rotate", sync_to_thread=True,
      guards=[allow("integration.manage")], include_in_schema=False)
def rotate_form(endpoint_id: int, db: Db, now: Now, settings: Conf) -> Template | Redirect:
    return _act(db, endpoint_id, "rotated",
                lambda: service.rotate_secret(db, endpoint_id, now=now, settings=settings))


@post("/integrations/{endpoint_id:int}/replay", sync_to_thread=True,
      guards=[allow("integration.manage")], include_in_schema=False)
def replay_form(endpoint_id: int, db: Db, now: Now, data: Form) -> Template | Redirect:
    def go() -> None:
        ids = [int(data["delivery_id"])] if data.get("delivery_id", "").isdigit() else None
        body = parse(ReplayIn, {"delivery_ids": ids} if ids else {"failed_since": "1970-01-01T00:00:00Z"})
        service.replay(db, endpoint_id, body, now=now)
    return _act(db, endpoint_id, "replayed", go)


routes = [endpoints_page, create_form, endpoint_page, update_form, test_form, rotate_form, replay_form]
