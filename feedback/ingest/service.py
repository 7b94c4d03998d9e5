"""Ingest: an interaction comes in, the customer and interaction are upserted and the survey
invitation is scheduled by the configured rules. Idempotent on the interaction's external id.

Parsing, the survey rules and the channel choice live here; the writes are set-based, a whole
batch at a time (`feedback.ingest.batch`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from feedback.ingest.schemas import InteractionBatch, InteractionIn
from feedback.settings import Settings
from outreach import optouts
from surveys.errors import ValidationFailed
from surveys.models import Customer, Invitation


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        field = f"{prefix}{loc}" if loc else prefix.rstrip(".")
        msg = err["msg"].removeprefix("Value error, ")
        out.append({"field": field, "message": msg})
    return out


def parse_payload(raw: Any, settings: Settings, now: datetime | None = None) -> list[InteractionIn]:
    """Accept one interaction, a list, or {"interactions": [...]}; on any bad item refuse the
    whole batch with every problem named (field path with the item index)."""
    ctx = {"phone_region": settings.default_phone_region, "now": now}
    if isinstance(raw, dict) and "interactions" in raw:
        items, prefix = raw["interactions"], "interactions"
    elif isinstance(raw, list):
        items, prefix = raw, ""
    elif isinstance(raw, dict):
        try:
            return [InteractionIn.model_validate(raw, context=ctx)]
        except ValidationError as exc:
            errors = pydantic_errors(exc)
            raise _invalid(errors) from exc
    else:
        raise ValidationFailed("body must be a JSON object or a list of objects", field="body")
    if not isinstance(items, list) or not items:
        raise ValidationFailed("interactions must be a non-empty list", field="interactions")
    if len(items) > 1000:
        raise ValidationFailed("at most 1000 interactions per request", field="interactions")
    parsed, errors = [], []
    for i, item in enumerate(items):
        try:
            parsed.append(InteractionIn.model_validate(item, context=ctx))
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, f"{prefix}[{i}]." if prefix else f"[{i}]."))
    if errors:
        raise _invalid(errors)
    seen: dict[str, int] = {}
    for i, item in enumerate(parsed):
        if item.external_id in seen:
            where = f"{prefix}[{i}].external_id" if prefix else f"[{i}].external_id"
            raise ValidationFailed(f"{where}: duplicate of item {seen[item.external_id]} in this batch",
                                   field=where)
        seen[item.external_id] = i
    return parsed


def _invalid(errors: list[dict[str, str]]) -> ValidationFailed:
    first = errors[0]
    return ValidationFailed(f"{first['field']}: {first['message']}", field=first["field"],
                            extra={"errors": errors})


_ = InteractionBatch  # documented shape for OpenAPI


def opted_out_channels(session: Session, customer: Customer,
                       key: str | None = None) -> set[str]:
    return optouts.opted_out_channels(session, [customer.phone, customer.email], key)


def choose_channel(customer: Customer, via: str, opted_out: set[str]) -> str:
    """The rule's channel if it can be used, else SMS, else email, else a link only.
    Dispatch checks opt-out again at send time — this is only the first plan."""
    usable = {"sms": bool(customer.phone) and "sms" not in opted_out,
              "email": bool(customer.email) and "email" not in opted_out}
    if via in usable and usable[via]:
        return via
    for channel in ("sms", "email"):
        if usable[channel]:
            return channel
    return "link"


@dataclass
class IngestResult:
    external_id: str
    interaction_id: int
    created: bool
    invitation: Invitation | None
    note: str | None = None


def ingest_one(session: Session, item: InteractionIn, *, now: datetime, settings: Settings) -> IngestResult:
    """One interaction (tests, the demo seeder): the batch path with a batch of one, and the
    invitation as an ORM object the caller may change."""
    from feedback.ingest.batch import ingest_batch

    [r] = ingest_batch(session, [item], now=now, settings=settings)
    invitation = session.get(Invitation, r.invitation.id) if r.invitation else None
    return IngestResult(r.external_id, r.interaction_id, r.created, invitation, r.note)


def invitation_public(inv: Any, settings: Settings) -> dict[str, Any] | None:
    """An `Invitation` or the batch's `InvitationView` (same attributes) as the API shows it."""
    if inv is None:
        return None
    return {"id": inv.id, "token": inv.token, "url": f"{settings.public_url}/s/{inv.token}",
            "channel": inv.channel, "status": inv.status, "send_at": inv.send_at.isoformat(),
            "expires_at": inv.expires_at.isoformat(), "status_reason": inv.status_reason}
