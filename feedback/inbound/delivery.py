"""Delivery reports: Twilio's status callbacks and email bounces, applied to invitations.

Which change a report may make is decided in `outreach.delivery` (forward-only); this module
finds the invitation, applies the change and, for a hard bounce, closes the address through the
one opt-out record so dispatch never mails it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.inbound.models import EmailBounce
from outreach import optouts
from outreach.delivery import Transition, bounce_transition, sms_status_transition
from surveys.errors import NotFound
from surveys.models import Customer, Invitation, InvitationChannel, InvitationStatus

log = logging.getLogger(__name__)


def _apply(invitation: Invitation, change: Transition, now: datetime) -> None:
    invitation.status = change.status
    if change.reason is not None:
        invitation.status_reason = change.reason[:500]
        invitation.last_error = change.reason[:1000]
    if change.status == InvitationStatus.DELIVERED and invitation.delivered_at is None:
        invitation.delivered_at = now
    if change.status == InvitationStatus.SENT and invitation.sent_at is None:
        invitation.sent_at = now
    if change.status == InvitationStatus.FAILED:
        invitation.remind_at = None  # a failed message is not followed by a reminder
    invitation.updated_at = now


def apply_sms_status(session: Session, *, message_sid: str, status: str,
                     error_code: str | None, error_message: str | None,
                     now: datetime) -> Invitation | None:
    """The invitation whose status changed, or None (unknown message, or a stale report).

    The row is locked (PostgreSQL) so two callbacks for the same message, handled at once, are
    judged one after the other against the status the first one wrote.
    """
    invitation = session.exec(
        select(Invitation).where(Invitation.provider_message_id == message_sid).with_for_update()
    ).first()
    if invitation is None:
        log.info("status %s for unknown message %s ignored", status, message_sid)
        return None
    change = sms_status_transition(invitation.status, status, error_code=error_code,
                                   error_message=error_message)
    if change is None:
        log.debug("status %s ignored for invitation %s (%s)", status, invitation.id,
                  invitation.status)
        return None
    _apply(invitation, change, now)
    session.add(invitation)
    return invitation


@dataclass(frozen=True, slots=True)
class BounceResult:
    bounce: EmailBounce
    invitation: Invitation | None
    opted_out: bool


def record_bounce(session: Session, *, address: str, kind: str, reason: str | None,
                  invitation_id: int | None, message_id: str | None,
                  now: datetime) -> BounceResult:
    """Record a bounce of `address` (already validated). The invitation is the one named (by id
    or the provider's message id), else the latest email invitation sent to the address."""
    address = optouts.canonical(address)
    invitation = _bounced_invitation(session, address, invitation_id, message_id)
    bounce = EmailBounce(address=address, kind=kind, reason=reason, received_at=now,
                         invitation_id=invitation.id if invitation else None)
    session.add(bounce)
    change = bounce_transition(invitation.status, kind, reason) if invitation else None
    if invitation is not None and change is not None:
        _apply(invitation, change, now)
        session.add(invitation)
    if kind == "hard":
        # The address does not exist: stop mailing it, with the reason shown as the opt-out's.
        optouts.record(session, "email", address, source="bounce", now=now,
                       customer_id=invitation.customer_id if invitation else None,
                       note=f"hard bounce: {reason}"[:500] if reason else "hard bounce")
    session.flush()
    return BounceResult(bounce, invitation, opted_out=kind == "hard")


def _bounced_invitation(session: Session, address: str, invitation_id: int | None,
                        message_id: str | None) -> Invitation | None:
    if invitation_id is not None:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None or invitation.channel != InvitationChannel.EMAIL:
            raise NotFound(f"no email invitation {invitation_id}", field="invitation_id")
        return invitation
    if message_id:
        invitation = session.exec(select(Invitation).where(
            Invitation.provider_message_id == message_id)).first()
        if invitation is None:
            raise NotFound(f"no invitation was sent as message {message_id!r}",
                           field="message_id")
        return invitation
    return session.exec(
        select(Invitation).join(Customer, Customer.id == Invitation.customer_id)  # type: ignore[arg-type]
        .where(sa.func.lower(Customer.email) == address,
               Invitation.channel == InvitationChannel.EMAIL,
               Invitation.sent_at.is_not(None))  # type: ignore[union-attr]
        .order_by(sa.desc(Invitation.sent_at))  # type: ignore[arg-type]
    ).first()
