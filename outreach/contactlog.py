"""The contact log: why was (or wasn't) a customer surveyed — their invitations and every
dispatch decision, each reason in words (`explain`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from outreach import optouts
from outreach.models import ContactEvent
from outreach.policy import Reason
from surveys.errors import NotFound
from surveys.models import Customer, Interaction, Invitation


def contact_log(db: Session, customer_id: int, *, any_team: bool = True,
                team: str | None = None) -> dict[str, Any]:
    """Every invitation and dispatch decision of one customer, newest first.

    Unless `any_team`, the caller sees only customers `team` served: a customer no interaction
    of `team` touched is answered like an unknown id (no probing for ids)."""
    customer = db.get(Customer, customer_id)
    if customer is not None and not any_team:
        served = db.exec(select(Interaction.id).where(
            Interaction.customer_id == customer_id, Interaction.team == team).limit(1)).first()
        if team is None or served is None:
            customer = None
    if customer is None:
        raise NotFound(f"customer {customer_id} not found", code="unknown_customer")
    invitations = db.exec(select(Invitation).where(Invitation.customer_id == customer_id)
                          .order_by(Invitation.id.desc())).all()  # type: ignore[union-attr]
    newest_first = (sa.desc(ContactEvent.at), sa.desc(ContactEvent.id))  # type: ignore[call-overload]
    events = db.exec(select(ContactEvent).where(ContactEvent.customer_id == customer_id)
                     .order_by(*newest_first).limit(200)).all()
    return {
        "customer": {"id": customer.id, "name": customer.name, "phone": customer.phone,
                     "email": customer.email, "time_zone": customer.time_zone,
                     "last_surveyed_at": _iso(customer.last_surveyed_at)},
        "opted_out": sorted(optouts.opted_out_channels(db, [customer.phone, customer.email])),
        "invitations": [{
            "id": i.id, "status": i.status, "channel": i.channel, "reason": i.status_reason,
            "explanation": explain(i.status_reason), "send_at": _iso(i.send_at),
            "sent_at": _iso(i.sent_at), "reminded_at": _iso(i.reminded_at),
            "expires_at": _iso(i.expires_at), "attempts": i.attempts, "last_error": i.last_error,
        } for i in invitations],
        "events": [{
            "at": _iso(e.at), "invitation_id": e.invitation_id, "kind": e.kind,
            "action": e.action, "reason": e.reason, "explanation": explain(e.reason),
            "channel": e.channel, "detail": e.detail,
            "not_before": _iso(e.not_before),
        } for e in events],
    }


def explain(reason: str | None) -> str | None:
    """A stored reason in words; a failure's reason is "kind: provider text", shown as is."""
    if reason is None:
        return None
    try:
        return Reason(reason).explanation
    except ValueError:
        return reason


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
