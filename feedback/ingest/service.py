"""Ingest: an interaction comes in, the customer and interaction are upserted and the survey
invitation is scheduled by the configured rules. Idempotent on the interaction's external id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from feedback import i18n
from feedback.ingest.schemas import InteractionBatch, InteractionIn
from feedback.operations.rollups import mark_dirty
from feedback.settings import Settings, SurveyRule
from outreach import optouts
from surveys.errors import ValidationFailed
from surveys.models import Customer, Interaction, Invitation, InvitationStatus
from surveys.service import (
    CustomerData,
    InteractionData,
    create_invitation,
    invitation_for,
    survey_by_key,
    upsert_customer,
    upsert_interaction,
)


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


def pick_rule(rules: list[SurveyRule], interaction: InteractionIn) -> SurveyRule:
    fields = {"channel": interaction.channel.value, "team": interaction.team or "",
              "queue": interaction.queue or "", "agent": interaction.agent or ""}
    for rule in rules:
        if all(fields.get(k) == v for k, v in rule.when.items()):
            return rule
    return SurveyRule()


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
    c = item.customer
    customer = upsert_customer(session, CustomerData(**c.model_dump()), now)
    interaction, created = upsert_interaction(session, customer, InteractionData(
        external_id=item.external_id, channel=item.channel.value, occurred_at=item.occurred_at,
        agent=item.agent, team=item.team, queue=item.queue, meta=item.metadata,
        operations=item.operations()), now,
        # Sent again, it may carry other facts or another time: ids alone cannot tell the
        # operations rollups that its old and new days changed.
        on_existing=lambda old: mark_dirty(session, old.occurred_at, item.occurred_at))
    # A new interaction cannot have an invitation yet: skip the look-up on the hot path.
    existing = None if created else invitation_for(session, interaction.id)  # type: ignore[arg-type]
    if existing is not None:
        return IngestResult(item.external_id, interaction.id, created, existing)  # type: ignore[arg-type]
    return IngestResult(item.external_id, interaction.id, created,  # type: ignore[arg-type]
                        *schedule_survey(session, customer, interaction, item, now=now, settings=settings))


def schedule_survey(session: Session, customer: Customer, interaction: Interaction,
                    item: InteractionIn, *, now: datetime, settings: Settings
                    ) -> tuple[Invitation | None, str | None]:
    if item.survey_channel == "none":
        return None, "survey_channel=none: no survey requested"
    rule = pick_rule(settings.survey_rules, item)
    survey = survey_by_key(session, item.survey or rule.survey)
    send_at = max(now, interaction.occurred_at + timedelta(minutes=settings.dispatch_delay_minutes))
    expires_at = send_at + timedelta(days=settings.invitation_expiry_days)
    if interaction.occurred_at + timedelta(days=settings.invitation_expiry_days) <= now:
        # History import: asking about a contact this old would only confuse the customer.
        return None, "interaction is older than the survey expiry; no survey scheduled"
    via = item.survey_channel or rule.via
    opted_out = opted_out_channels(session, customer, settings.secret_key)
    if opted_out >= {"sms", "email"} and optouts.suppressed(
            session, [customer.phone, customer.email], settings.secret_key):
        # An erased customer's address, seen again: their erasure said "never again".
        return None, "this address belongs to an erased customer: no survey scheduled"
    channel = choose_channel(customer, via, opted_out)
    locale = i18n.resolve(customer.locale or settings.default_locale)
    invitation = create_invitation(
        session, customer=customer, survey=survey, channel=channel, send_at=send_at,
        expires_at=expires_at, now=now, interaction=interaction, locale=locale,
        status=InvitationStatus.SCHEDULED,
    )
    return invitation, None


def invitation_public(inv: Invitation | None, settings: Settings) -> dict[str, Any] | None:
    if inv is None:
        return None
    return {"id": inv.id, "token": inv.token, "url": f"{settings.public_url}/s/{inv.token}",
            "channel": inv.channel, "status": inv.status, "send_at": inv.send_at.isoformat(),
            "expires_at": inv.expires_at.isoformat(), "status_reason": inv.status_reason}
