"""Closing the loop with the customer: after resolution, ask again.

The follow-up is an ordinary invitation with purpose "recovery_followup", sent by the
dispatcher like any survey. Its survey is a definition of the original kind with its own
wording — "Did we resolve your concern?" as the comment prompt, and the original question
again — so the score change after recovery is measured on the same scale. The wording is an
ordinary survey of the survey editor (feedback.configuration), no longer code.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from feedback.configuration import policies
from feedback.ingest.service import choose_channel, opted_out_channels
from feedback.recovery.models import RecoveryTask
from feedback.recovery.service import FOLLOWUP_PURPOSE, SYSTEM, record
from feedback.settings import Settings
from surveys.models import Customer, Interaction, Invitation, Response, SurveyDefinition
from surveys.scoring import SurveyKind
from surveys.service import create_invitation, invitation_for


def followup_survey(session: Session, kind: str, now: datetime) -> SurveyDefinition:
    """The follow-up survey of a kind: an ordinary survey ("nps-recovery-followup", …) that
    admins edit like any other; the product creates it from its built-in wording once."""
    from feedback.configuration.surveys import ensure_builtin

    return ensure_builtin(session, f"{SurveyKind(kind).value}-recovery-followup", now=now)


def schedule_followup(session: Session, task: RecoveryTask, *, now: datetime,
                      settings: Settings) -> tuple[Invitation | None, str]:
    """Schedule the follow-up survey, or say why not (recorded in the task history)."""
    invitation, why = _plan(session, task, now=now, settings=settings)
    if invitation is not None:
        task.followup_invitation_id = invitation.id
        session.add(task)
        record(session, task, SYSTEM, "followup", now, after=f"invitation {invitation.id}",
               note=f"follow-up survey by {invitation.channel} at {invitation.send_at:%Y-%m-%d %H:%M} UTC")
    else:
        record(session, task, SYSTEM, "followup", now, after="not sent", note=why)
    return invitation, why


def _plan(session: Session, task: RecoveryTask, *, now: datetime,
          settings: Settings) -> tuple[Invitation | None, str]:
    if not settings.recovery_followup:
        return None, "follow-up surveys are turned off"
    customer = session.get(Customer, task.customer_id)
    original = session.get(Response, task.response_id)
    if customer is None or original is None:
        return None, "the customer or the original answer no longer exists"
    # Fatigue: one recovery follow-up per customer per fatigue window, whatever the task.
    fatigue_days = policies.current(session, settings).doc.fatigue_days
    since = now - timedelta(days=fatigue_days)
    recent = session.exec(select(Invitation.id).where(
        Invitation.customer_id == customer.id, Invitation.purpose == FOLLOWUP_PURPOSE,
        Invitation.created_at >= since)).first()
    if recent is not None:
        return None, f"this customer already got a follow-up in the last {fatigue_days} days"
    first_invitation = session.get(Invitation, original.invitation_id)
    preferred = first_invitation.channel if first_invitation else "auto"
    channel = choose_channel(customer, preferred, opted_out_channels(session, customer))
    if channel == "link":
        return None, "the customer opted out of surveys or has no phone or email"
    interaction = session.get(Interaction, task.interaction_id) if task.interaction_id else None
    if interaction is not None and invitation_for(session, interaction.id, FOLLOWUP_PURPOSE):  # type: ignore[arg-type]
        return None, "a follow-up for this interaction exists already"
    send_at = now + timedelta(hours=settings.recovery_followup_delay_hours)
    invitation = create_invitation(
        session, customer=customer, survey=followup_survey(session, task.kind, now),
        channel=channel, send_at=send_at,
        expires_at=send_at + timedelta(days=settings.invitation_expiry_days), now=now,
        interaction=interaction, locale=(first_invitation.locale if first_invitation else customer.locale),
        purpose=FOLLOWUP_PURPOSE)
    return invitation, "scheduled"


def record_followup_answer(session: Session, response: Response, *, now: datetime) -> None:
    """The follow-up answer feeds its task (recovery rate, score change); it never opens one."""
    task = session.exec(select(RecoveryTask).where(
        RecoveryTask.followup_invitation_id == response.invitation_id)).first()
    if task is None or task.followup_response_id is not None:
        return
    task.followup_response_id = response.id
    task.followup_score, task.followup_classification = response.score, response.classification
    task.updated_at = now
    session.add(task)
    record(session, task, SYSTEM, "followup_answer", now,
           before=f"{task.kind.upper()} {task.score}", after=f"{task.kind.upper()} {response.score}",
           note=f"{response.classification}" + (f": {response.comment}" if response.comment else ""))
