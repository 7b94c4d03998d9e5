"""Twilio's webhooks: inbound SMS (answered with TwiML) and message status callbacks.

Both are refused with 403 unless X-Twilio-Signature verifies, checked in a guard before a
database transaction is opened, so forged traffic costs one HMAC.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import MediaType, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body
from twilio.twiml.messaging_response import MessagingResponse

from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.edge import strip_control
from feedback.inbound.delivery import apply_sms_status
from feedback.inbound.sms import InboundMessage, handle_inbound_sms
from outreach.twilio_webhook import is_signed_by_twilio, public_webhook_url
from surveys.errors import DomainError, Forbidden

TwilioForm = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


async def twilio_signed(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    request: Request[Any, Any, Any] = connection  # type: ignore[assignment]
    settings = connection.app.state.settings
    form = await request.form()  # the body is cached: the handler's `data` reads it again
    url = public_webhook_url(settings.public_url, connection.url.path,
                             connection.scope.get("query_string", b"").decode("latin-1"))
    if not is_signed_by_twilio(settings.twilio_auth_token, url, dict(form.items()),
                               connection.headers.get("x-twilio-signature")):
        raise Forbidden("the request is not signed by Twilio for this URL", code="bad_signature")


def _storable(data: dict[str, str]) -> dict[str, str]:
    # Signed, so genuine: a 4xx/5xx would only make Twilio resend it for hours. Control
    # characters (a NUL cannot be stored in PostgreSQL text) are dropped and the rest is kept.
    return {k: strip_control(v) if isinstance(v, str) else v for k, v in data.items()}


def _required(data: dict[str, str], *names: str) -> str:
    for name in names:
        if data.get(name, "").strip():
            return data[name].strip()
    raise DomainError(f"{names[0]} is required", field=names[0], status_code=400,
                      code="invalid_request")


def twiml(text: str | None) -> str:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return str(reply)


@post("/webhooks/twilio/sms", guards=[allow("public.webhook"), twilio_signed], sync_to_thread=True, status_code=200,
      include_in_schema=False)
def twilio_sms(db: Db, now: Now, settings: Conf, data: TwilioForm) -> Response[str]:
    data = _storable(data)
    message = InboundMessage(message_sid=_required(data, "MessageSid", "SmsSid"),
                             from_number=_required(data, "From"), body=data.get("Body", ""),
                             to_number=data.get("To"))
    handled = handle_inbound_sms(db, message, now=now, settings=settings)
    return Response(twiml(handled.reply), media_type=MediaType.XML)


@post("/webhooks/twilio/status", guards=[allow("public.webhook"), twilio_signed], sync_to_thread=True, status_code=204,
      include_in_schema=False)
def twilio_status(db: Db, now: Now, data: TwilioForm) -> None:
    data = _storable(data)
    apply_sms_status(db, message_sid=_required(data, "MessageSid", "SmsSid"),
                     status=_required(data, "MessageStatus", "SmsStatus").lower(),
                     error_code=data.get("ErrorCode") or None,
                     error_message=data.get("ErrorMessage") or None, now=now)


routes = [twilio_sms, twilio_status]
