"""Staff API for the opt-out record, email bounces and the inbound SMS log (admins and leads,
API key for writes).

`/api/opt-outs` writes through `outreach.optouts`, the same function SMS STOP and the email
unsubscribe link use. Bad input is a 400 naming the field.
"""

from __future__ import annotations

from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from litestar import delete, get, post
from litestar.params import JSONBody
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select

from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.edge import DbId
from feedback.inbound.delivery import record_bounce
from feedback.inbound.models import InboundSms
from feedback.ingest.schemas import normalise_phone
from feedback.recovery.schemas import parse
from outreach import optouts
from surveys.errors import DomainError, ValidationFailed
from surveys.models import Customer, OptOut

_TAGS = ["opt-outs"]
MAX_LIST = 1000


def _bad_request(exc: ValidationFailed) -> DomainError:
    return DomainError(exc.message, field=exc.field, status_code=400, code="invalid_request",
                       extra=exc.extra)


def _checked(model: type[BaseModel], data: Any) -> Any:
    try:
        return parse(model, data)
    except ValidationFailed as exc:
        raise _bad_request(exc) from exc


def _address(channel: str, address: str, region: str | None) -> str:
    """The canonical address for `channel`: E.164 for sms, a valid e-mail for email; either
    for all. ValueError names what is wrong."""
    if channel == "email" or (channel == "all" and "@" in address):
        try:
            return validate_email(address, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise ValueError(f"{address!r} is not a valid email address: {exc}") from exc
    if "@" in address:
        raise ValueError(f"{address!r} is an email address; the channel {channel} needs a phone")
    return normalise_phone(address, region)


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Literal["sms", "email", "all"]
    address: str = Field(min_length=1, max_length=320)
    source: str = Field(default="admin", min_length=1, max_length=40)
    note: str | None = Field(default=None, max_length=500)


class BounceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=1, max_length=320)
    kind: Literal["hard", "soft"]
    reason: str | None = Field(default=None, max_length=1000)
    invitation_id: DbId | None = None
    message_id: str | None = Field(default=None, max_length=100)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return _address("email", v, None)


def _opt_out_json(row: OptOut) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "address": row.address,
            "customer_id": row.customer_id, "source": row.source, "note": row.note,
            "created_at": row.created_at.isoformat()}


def _customer_id(db: Session, address: str) -> int | None:
    column = Customer.email if "@" in address else Customer.phone
    return db.exec(select(Customer.id).where(column == address)).first()


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIST:
        raise DomainError(f"limit must be between 1 and {MAX_LIST}", field="limit",
                          status_code=400, code="invalid_request")


def _query_address(channel: str | None, address: str | None, settings: Conf,
                   field: str = "address") -> tuple[str, str]:
    """channel + address from the query string, both required and checked."""
    if channel not in optouts.CHANNELS:
        raise DomainError(f"channel must be one of {', '.join(optouts.CHANNELS)}",
                          field="channel", status_code=400, code="invalid_request")
    try:
        return channel, _address(channel, (address or "").strip(), settings.default_phone_region)
    except ValueError as exc:
        raise DomainError(str(exc), field=field, status_code=400,
                          code="invalid_request") from exc


@get("/api/opt-outs", sync_to_thread=True, guards=[allow("optout.read")], tags=_TAGS,
     summary="Opt-outs: all (newest first) or those of one address")
def list_opt_outs(db: Db, settings: Conf, address: str | None = None,
                  channel: str | None = None, limit: int = 100) -> dict[str, Any]:
    _check_limit(limit)
    if address is not None:
        _, canonical = _query_address(channel or "all", address, settings)
        rows = optouts.list_for(db, [canonical])
    else:
        stmt = select(OptOut).order_by(OptOut.created_at.desc(), OptOut.id.desc())  # type: ignore[attr-defined,union-attr]
        rows = list(db.exec(stmt.limit(limit)).all())
    if channel:
        rows = [r for r in rows if r.channel == channel]
    return {"opt_outs": [_opt_out_json(r) for r in rows]}


@post("/api/opt-outs", sync_to_thread=True, guards=[allow("optout.write")], tags=_TAGS, status_code=201,
      summary="Opt an address out of a channel (sms, email or all); idempotent")
def create_opt_out(db: Db, now: Now, settings: Conf,
                   data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body: OptOutIn = _checked(OptOutIn, data)
    try:
        address = _address(body.channel, body.address, settings.default_phone_region)
    except ValueError as exc:
        raise DomainError(str(exc), field="address", status_code=400,
                          code="invalid_request") from exc
    row = optouts.record(db, body.channel, address, source=body.source, note=body.note,
                         now=now, customer_id=_customer_id(db, address))
    return _opt_out_json(row)


@delete("/api/opt-outs", sync_to_thread=True, guards=[allow("optout.write")], tags=_TAGS, status_code=200,
        summary="Opt an address back in (?channel=&address=); removing sms also removes all")
def delete_opt_out(db: Db, settings: Conf, channel: str | None = None,
                   address: str | None = None) -> dict[str, Any]:
    channel, canonical = _query_address(channel, address, settings)
    return {"removed": optouts.remove(db, channel, canonical)}


@post("/api/bounces", sync_to_thread=True, guards=[allow("bounce.write")], tags=_TAGS, status_code=201,
      summary="Record an email bounce: hard fails the invitation and closes the address")
def create_bounce(db: Db, now: Now, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body: BounceIn = _checked(BounceIn, data)
    result = record_bounce(db, address=body.email, kind=body.kind, reason=body.reason,
                           invitation_id=body.invitation_id, message_id=body.message_id, now=now)
    invitation = result.invitation
    return {"id": result.bounce.id, "email": result.bounce.address, "kind": body.kind,
            "invitation_id": result.bounce.invitation_id,
            "invitation_status": invitation.status if invitation else None,
            "opted_out": result.opted_out}


@get("/api/sms/inbound", sync_to_thread=True, guards=[allow("sms.inbound.read")], tags=_TAGS,
     summary="Inbound SMS as received (newest first), with what each one did",
     description="Every message is kept, also from unknown numbers and after STOP. "
                 "Filter with ?phone=+E164; outcome says e.g. score, comment, clarify, "
                 "unparsed, opt_out, no_survey.")
def list_inbound_sms(db: Db, settings: Conf, phone: str | None = None,
                     limit: int = 100) -> dict[str, Any]:
    _check_limit(limit)
    stmt = select(InboundSms).order_by(InboundSms.received_at.desc(), InboundSms.id.desc())  # type: ignore[attr-defined,union-attr]
    if phone is not None:
        _, number = _query_address("sms", phone, settings, field="phone")
        stmt = stmt.where(InboundSms.from_number == number)
    return {"messages": [
        {"id": m.id, "message_sid": m.message_sid, "from": m.from_number, "body": m.body,
         "customer_id": m.customer_id, "invitation_id": m.invitation_id, "outcome": m.outcome,
         "reply": m.reply, "received_at": m.received_at.isoformat()}
        for m in db.exec(stmt.limit(limit)).all()]}


routes = [list_opt_outs, create_opt_out, delete_opt_out, create_bounce, list_inbound_sms]
