"""Recording an answer, and queueing what follows from it.

The survey domain stores and classifies the response; the answer's transaction adds only the
cheap things beside it (the customer's `last_surveyed_at`, the operations rollup's dirty day)
and one outbox row: the reactions of the parts that need everything — themes, the
`response.created` event, a recovery task for a detractor — run after commit, within seconds,
from that row (`feedback.followups`, where the order and the time bound are stated).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from feedback.configuration import policies, repository
from feedback.followups import service as followups
from feedback.operations.rollups import mark_dirty
from feedback.settings import Settings
from surveys.models import Customer, Interaction, Invitation, Response
from surveys.service import (
    add_comment,
    change_score,
    invitation_by_token_carrying,
    submit_response,
)


def invitation_to_answer(session: Session, token: str) -> Invitation:
    """The token's invitation with its context (`invitation_by_token`), the configuration's
    stamp carried by the same look-up: the answer and the page read the policy (thresholds,
    branding), and checking the cache's stamp in a round trip of its own would cost the
    busiest write path one statement in six."""
    invitation, (stamp,) = invitation_by_token_carrying(session, token,
                                                        (repository.stamp_column(),))
    repository.carried_stamp(session, stamp)
    return invitation


def record_response(session: Session, invitation: Invitation, *, score: object,
                    comment: str | None, source: str, now: datetime,
                    settings: Settings, resolved: bool | None = None) -> Response:
    response = submit_response(session, invitation, score=score, comment=comment, source=source,
                               now=now, thresholds=policies.effective(session, settings).thresholds,
                               redactor=settings.redactor, resolved=resolved)
    customer = session.get(Customer, invitation.customer_id)  # held since `invitation_by_token`
    if customer is not None and customer.last_surveyed_at is None:
        customer.last_surveyed_at = invitation.sent_at or now
    followups.queue(session, response, followups.CREATED, now)
    return response


def record_comment(session: Session, invitation: Invitation, comment: str | None, *,
                   now: datetime, settings: Settings) -> Response:
    window = timedelta(minutes=settings.answer_edit_window_minutes)
    response = add_comment(session, invitation, comment, now, window, settings.redactor)
    if response.comment_at == now:  # an empty comment changes nothing: nothing to follow up
        followups.queue(session, response, followups.COMMENT, now)
    return response


def record_score_change(session: Session, invitation: Invitation, score: object, *,
                        now: datetime, settings: Settings) -> Response:
    """A mis-tap corrected within the edit window. A recovery task the first score opened
    stays (someone may already be on it) but its timeline says what the customer changed
    (the follow-up does that, after the answer's own follow-up)."""
    window = timedelta(minutes=settings.answer_edit_window_minutes)
    response, before = change_score(session, invitation, score, now, window,
                                    policies.effective(session, settings).thresholds)
    if before != response.score:
        if response.interaction_id is not None:
            # A corrected score may belong to a contact whose day is rolled up already.
            contact = session.get(Interaction, response.interaction_id)
            mark_dirty(session, contact.occurred_at if contact else None)
        followups.queue(session, response, followups.SCORE, now, before=before)
    return response
