"""The bare reference for the SMS score reply of benchmarks/write_paths.py: only the essential
work of a signed Twilio webhook carrying a score — verify X-Twilio-Signature, store the message
(`INSERT … ON CONFLICT (message_sid) DO NOTHING RETURNING`), find the phone's open SMS
invitation, insert the response (ON CONFLICT DO NOTHING), mark the invitation answered,
remember that the comment is awaited (upsert on the phone), answer with TwiML. SQLAlchemy Core
on the product's own schema, one transaction. Served by benchmarks/_bare_ingest.py's app.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import MediaType, Request, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from twilio.request_validator import RequestValidator

from feedback.db import new_session
from feedback.inbound.models import InboundSms, SmsConversation
from surveys.models import Customer, Invitation
from surveys.models import Response as ResponseRow
from surveys.sql import dialect_insert

SMS, CONV, C, INV, R = (m.__table__ for m in (  # type: ignore[attr-defined]
    InboundSms, SmsConversation, Customer, Invitation, ResponseRow))
TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks! What is the main '
         'reason for your score?</Message></Response>')


def handlers(engine: Any) -> list[Any]:
    validator = RequestValidator(os.environ["FEEDBACK_TWILIO_AUTH_TOKEN"])
    public = os.environ["FEEDBACK_PUBLIC_URL"].rstrip("/")

    @post("/webhooks/twilio/sms", sync_to_thread=True, status_code=200)
    def sms(request: Request[Any, Any, Any], data: Annotated[dict[str, str], Body(
            media_type=RequestEncodingType.URL_ENCODED)]) -> Response[str]:
        if not validator.validate(public + request.url.path, data,
                                  request.headers.get("x-twilio-signature", "")):
            return Response("forged", status_code=403)
        now, phone = datetime.now(UTC), data["From"]
        with new_session(engine) as s, s.begin():
            ins = dialect_insert(s, SMS)
            sid = s.execute(ins.values(
                message_sid=data["MessageSid"], from_number=phone, to_number=data.get("To"),
                body=data.get("Body", ""), received_at=now, outcome="score",
            ).on_conflict_do_nothing(index_elements=["message_sid"]).returning(SMS.c.id)).first()
            if sid is None:
                return Response(TWIML, media_type=MediaType.XML)
            inv = s.execute(sa.select(INV.c.id, INV.c.customer_id, INV.c.survey_id)
                            .join(C, C.c.id == INV.c.customer_id)
                            .where(C.c.phone == phone, INV.c.channel == "sms",
                                   INV.c.status == "sent", INV.c.expires_at > now)
                            .order_by(INV.c.send_at.desc()).limit(1)).one()
            s.execute(dialect_insert(s, R).values(
                invitation_id=inv.id, customer_id=inv.customer_id, survey_id=inv.survey_id,
                kind="nps", score=int(data["Body"]), classification="passive", source="sms",
                locale="en", purpose="survey", submitted_at=now,
            ).on_conflict_do_nothing(index_elements=["invitation_id"]))
            s.execute(sa.update(INV).where(INV.c.id == inv.id).values(status="answered",
                                                                  answered_at=now))
            conv = dialect_insert(s, CONV).values(
                phone=phone, invitation_id=inv.id, awaiting="comment", updated_at=now,
                expires_at=now + timedelta(hours=24))
            s.execute(conv.on_conflict_do_update(index_elements=["phone"], set_={
                "invitation_id": conv.excluded.invitation_id, "awaiting": "comment",
                "updated_at": now, "expires_at": conv.excluded.expires_at}))
        return Response(TWIML, media_type=MediaType.XML)

    return [sms]
