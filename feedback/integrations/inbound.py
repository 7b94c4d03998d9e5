"""HTTP of helpdesk connectors: the inbound webhook (public, authenticated by the connector's
secret), the admin API (set up, list, preview a mapping) and the admin pages."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, delete, get, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, RawBody
from litestar.response import Redirect, Template

from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.integrations import connectors, helpdesk
from feedback.integrations.connectors import ConnectorIn, ConnectorUpdate, PreviewIn, connector_json
from feedback.integrations.schemas import parse
from surveys.errors import ValidationFailed

_TAGS = ["integrations"]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


@post("/webhooks/helpdesk/{connector_id:int}", sync_to_thread=True, guards=[allow("public.webhook")],
      include_in_schema=False, status_code=200)
def helpdesk_webhook(connector_id: int, request: Request[Any, Any, Any], body: RawBody, db: Db,
                     now: Now, settings: Conf) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return connectors.receive(db, connector_id, headers, body, now=now, settings=settings)


@get("/api/integrations/helpdesk", sync_to_thread=True, guards=[allow("integration.read")],
     tags=_TAGS, summary="Helpdesk connectors (inbound ticket webhooks)")
def list_connectors(db: Db, settings: Conf) -> dict[str, Any]:
    return {"items": [connector_json(c, settings.public_url) for c in connectors.all_connectors(db)],
            "zendesk_body": helpdesk.ZENDESK_BODY, "mappable": list(helpdesk.MAPPABLE)}


@post("/api/integrations/helpdesk", sync_to_thread=True, guards=[allow("integration.manage")],
      tags=_TAGS, status_code=201, summary="Set up a Zendesk, Freshdesk, Intercom or generic connector",
      description="Body: kind, name, secret (optional), mapping (generic: field → JSON path). "
                  "The answer's `url` is where the helpdesk's webhook must POST.")
def create_connector(data: JSONBody[dict[str, Any]], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    c = connectors.create(db, parse(ConnectorIn, data), now=now)
    return connector_json(c, settings.public_url, with_secret=True)


@get("/api/integrations/helpdesk/{connector_id:int}", sync_to_thread=True,
     guards=[allow("integration.read")], tags=_TAGS, summary="One connector with its secret")
def get_connector(connector_id: int, db: Db, settings: Conf) -> dict[str, Any]:
    return connector_json(connectors.get(db, connector_id), settings.public_url, with_secret=True)


@put("/api/integrations/helpdesk/{connector_id:int}", sync_to_thread=True,
     guards=[allow("integration.manage")], tags=_TAGS, summary="Change a connector",
     description="Body: any of name, secret, mapping (generic), active. The kind cannot change.")
def update_connector(connector_id: int, data: JSONBody[dict[str, Any]], db: Db, now: Now,
                     settings: Conf) -> dict[str, Any]:
    c = connectors.update(db, connector_id, parse(ConnectorUpdate, data), now=now)
    return connector_json(c, settings.public_url, with_secret=True)


@delete("/api/integrations/helpdesk/{connector_id:int}", sync_to_thread=True,
        guards=[allow("integration.manage")], tags=_TAGS, status_code=204,
        summary="Delete a connector (its interactions stay; its URL answers 403)")
def delete_connector(connector_id: int, db: Db) -> None:
    connectors.delete(db, connector_id)


@post("/api/integrations/helpdesk/{connector_id:int}/preview", sync_to_thread=True,
      guards=[allow("integration.read")], tags=_TAGS, status_code=200,
      summary="What a sample payload would become (nothing is stored)",
      description="Body: {sample, mapping?}: a generic connector's mapping can be tried before saving.")
def preview(connector_id: int, data: JSONBody[dict[str, Any]], db: Db, now: Now,
            settings: Conf) -> dict[str, Any]:
    c = connectors.get(db, connector_id)
    body = parse(PreviewIn, data)
    return connectors.preview(c.kind, body.mapping if body.mapping is not None else c.mapping,
                              body.sample, settings, now)


# --- pages --------------------------------------------------------------------------------------

def _page(db: Db, settings: Any, connector_id: int, *, sample: str = "", mapping_text: str | None = None,
          result: dict[str, Any] | None = None, error: str | None = None, status: int = 200) -> Template:
    import json

    c = connectors.get(db, connector_id)
    return Template(template_name="integrations/connector.html", status_code=status, context={
        "c": connector_json(c, settings.public_url, with_secret=True), "sample": sample,
        "mapping_text": mapping_text if mapping_text is not None else json.dumps(c.mapping, indent=2),
        "result": result, "error": error, "zendesk_body": json.dumps(helpdesk.ZENDESK_BODY, indent=2)})


@get("/integrations/helpdesk/{connector_id:int}", sync_to_thread=True,
     guards=[allow("integration.read")], include_in_schema=False)
def connector_page(connector_id: int, db: Db, settings: Conf) -> Template:
    return _page(db, settings, connector_id)


@post("/integrations/helpdesk/{connector_id:int}/preview", sync_to_thread=True,
      guards=[allow("integration.read")], include_in_schema=False, status_code=200)
def preview_form(connector_id: int, db: Db, now: Now, settings: Conf, data: Form) -> Template:
    import json

    c = connectors.get(db, connector_id)
    sample, mapping_text = data.get("sample", ""), data.get("mapping")
    try:
        doc = json.loads(sample)
        mapping = json.loads(mapping_text) if mapping_text else c.mapping
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise ValueError("the mapping must be an object of field → JSON path")
    except ValueError as exc:
        return _page(db, settings, connector_id, sample=sample, mapping_text=mapping_text,
                     error=f"not valid JSON: {exc}", status=422)
    result = connectors.preview(c.kind, mapping, doc, settings, now)
    return _page(db, settings, connector_id, sample=sample, mapping_text=mapping_text, result={
        **result, "pretty": json.dumps(result["interaction"], indent=2, ensure_ascii=False)})


@post("/integrations/helpdesk", sync_to_thread=True, guards=[allow("integration.manage")],
      include_in_schema=False)
def create_form(db: Db, now: Now, data: Form) -> Template | Redirect:
    import json

    try:
        mapping = json.loads(data["mapping"]) if data.get("mapping", "").strip() else {}
        c = connectors.create(db, parse(ConnectorIn, {
            "kind": data.get("kind", ""), "name": data.get("name", ""),
            "secret": data.get("secret") or None, "mapping": mapping}), now=now)
    except ValueError as exc:  # bad JSON in the mapping box
        return Redirect("/integrations?helpdesk_error=" + quote(str(exc)[:200]), status_code=303)
    except ValidationFailed as exc:
        return Redirect("/integrations?helpdesk_error=" + quote(exc.message[:200]), status_code=303)
    return Redirect(f"/integrations/helpdesk/{c.id}", status_code=303)


@post("/integrations/helpdesk/{connector_id:int}", sync_to_thread=True,
      guards=[allow("integration.manage")], include_in_schema=False)
def edit_form(connector_id: int, db: Db, now: Now, settings: Conf, data: Form) -> Template | Redirect:
    import json

    c = connectors.get(db, connector_id)
    try:
        mapping = json.loads(data["mapping"]) if data.get("mapping", "").strip() else None
        if c.kind != "generic":
            mapping = None
        connectors.update(db, connector_id, parse(ConnectorUpdate, {
            "name": data.get("name") or None, "secret": data.get("secret") or None,
            "mapping": mapping, "active": data.get("active", "true") == "true"}), now=now)
    except ValueError as exc:  # bad JSON in the mapping box
        return _page(db, settings, connector_id, error=f"mapping: not valid JSON: {exc}", status=422)
    except ValidationFailed as exc:
        return _page(db, settings, connector_id, error=exc.message, status=422)
    return Redirect(f"/integrations/helpdesk/{connector_id}", status_code=303)


@post("/integrations/helpdesk/{connector_id:int}/delete", sync_to_thread=True,
      guards=[allow("integration.manage")], include_in_schema=False)
def delete_form(connector_id: int, db: Db) -> Redirect:
    connectors.delete(db, connector_id)
    return Redirect("/integrations#helpdesk", status_code=303)


routes = [helpdesk_webhook, list_connectors, create_connector, get_connector, update_connector,
          delete_connector, preview, connector_page, preview_form, create_form, edit_form,
          delete_form]
