"""Outreach pages and API: the email unsubscribe link, the dev outbox and the contact log.

Unsubscribe (`/u/{token}`, token signed by `outreach.unsubscribe`): a GET only shows a confirm
button — mail scanners fetch every link, and must not unsubscribe anybody — and a POST records
the opt-out. The POST is also the RFC 8058 one-click target named in `List-Unsubscribe`, which
mail clients call without a form or cookies, so it ignores the body and needs no CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template
from sqlmodel import Session

from feedback import i18n
from feedback.auth.permissions import EVERY_TEAM, allow, request_team
from feedback.configuration import policies
from feedback.deps import Conf, Db, Now
from feedback.web.templating import page_context
from outreach import contactlog, devoutbox, optouts, unsubscribe
from outreach.models import DevOutboxMessage
from surveys.errors import ValidationFailed
from surveys.models import Customer

MAX_LIMIT = 500


def _unsubscribe_page(request: Request[Any, Any, Any], db: Session, token: str,
                      settings: Conf, *, state: str) -> Template:
    found = unsubscribe.verify(settings.secret_key, token)
    customer = db.get(Customer, found.customer_id) if found and found.customer_id else None
    locale = i18n.resolve(customer.locale if customer else None,
                          request.headers.get("accept-language"))
    if found is None:
        state = "invalid"
    return Template(template_name="outreach/unsubscribe.html",
                    status_code=404 if state == "invalid" else 200,
                    context=page_context(locale, state=state, token=token,
                                         company=policies.site(db, settings).company))


@get("/u/{token:str}", sync_to_thread=True, guards=[allow("public.unsubscribe")], include_in_schema=False)
def unsubscribe_confirm(token: str, request: Request[Any, Any, Any], db: Db,
                        settings: Conf) -> Template:
    return _unsubscribe_page(request, db, token, settings, state="confirm")


@post("/u/{token:str}", sync_to_thread=True, guards=[allow("public.unsubscribe")], include_in_schema=False, status_code=200)
def unsubscribe_submit(token: str, request: Request[Any, Any, Any], db: Db, settings: Conf,
                       now: Now, data: Annotated[dict[str, str] | None, Body(media_type=RequestEncodingType.URL_ENCODED)] = None,
                       ) -> Template:
    """`scope=all` (the page's second button) stops every feedback request, on every channel;
    anything else — the first button, an RFC 8058 one-click POST — only the link's channel."""
    found = unsubscribe.verify(settings.secret_key, token)
    everything = (data or {}).get("scope") == "all"
    if found is not None:
        optouts.record(db, "all" if everything else found.channel, found.address,
                       source="unsubscribe_link", now=now, customer_id=found.customer_id,
                       note="stop all feedback requests" if everything else None)
    return _unsubscribe_page(request, db, token, settings,
                             state="done_all" if everything else "done")


def _limit(value: int | None) -> int:
    if value is None:
        return 100
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return value


def _channel(value: str | None) -> str | None:
    if value not in (None, "", "sms", "email"):
        raise ValidationFailed("channel must be sms or email", field="channel")
    return value or None


def outbox_json(row: DevOutboxMessage) -> dict[str, Any]:
    return {"id": row.id, "provider_id": row.provider_id, "channel": row.channel, "to": row.to,
            "subject": row.subject, "body": row.body, "html": row.html, "headers": row.headers,
            "created_at": row.created_at.isoformat()}


@get("/api/outbox", sync_to_thread=True, guards=[allow("outbox.read")])
def outbox_api(db: Db, channel: str | None = None, to: str | None = None,
               limit: int | None = None) -> dict[str, Any]:
    """Messages the development transport recorded because a channel is not configured."""
    rows = devoutbox.recent(db, limit=_limit(limit), channel=_channel(channel), to=to)
    return {"messages": [outbox_json(r) for r in rows]}


@get("/outbox", sync_to_thread=True, guards=[allow("outbox.read")], include_in_schema=False)
def outbox_page(request: Request[Any, Any, Any], db: Db, channel: str | None = None,
                to: str | None = None) -> Template:
    rows = devoutbox.recent(db, limit=100, channel=_channel(channel), to=to)
    return Template(template_name="outreach/outbox.html",
                    context={"messages": rows, "channel": channel or "", "to": to or "",
                             "request": request})


def _log(db: Session, customer_id: int, request: Request[Any, Any, Any]) -> dict[str, Any]:
    scope = request_team(request)
    if scope is EVERY_TEAM:
        return contactlog.contact_log(db, customer_id)
    return contactlog.contact_log(db, customer_id, any_team=False, team=scope)


@get("/api/customers/{customer_id:int}/contact-log", sync_to_thread=True, guards=[allow("customer.contact_log.read")])
def contact_log_api(customer_id: int, request: Request[Any, Any, Any], db: Db) -> dict[str, Any]:
    """Why was (or wasn't) this customer surveyed: every invitation and dispatch decision.
    Recovery members and team leads see the customers their team served."""
    return _log(db, customer_id, request)


@get("/customers/{customer_id:int}/contact-log", sync_to_thread=True, guards=[allow("customer.contact_log.read")],
     include_in_schema=False)
def contact_log_page(customer_id: int, request: Request[Any, Any, Any], db: Db) -> Template:
    return Template(template_name="outreach/contact_log.html",
                    context={"log": _log(db, customer_id, request),
                             "request": request})


routes = [unsubscribe_confirm, unsubscribe_submit, outbox_api, outbox_page, contact_log_api,
          contact_log_page]
