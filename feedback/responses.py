"""Recording an answer and everything that follows from it, in the same transaction.

The survey domain stores and classifies the response; the application then lets the parts that
need everything react: recovery opens a task for a detractor, insights tags the comment's themes.
Those reactions are plain calls here — one place to read what happens when a customer answers.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session

from feedback.configuration import policies
from feedback.insights import service as insights
from feedback.integrations import events
from feedback.operations.rollups import mark_dirty
from feedback.recovery import service as recovery
from feedback.settings import Settings
from surveys.models import Customer, Interaction, Invitation, Response
from surveys.service import add_comment, change_score, submit_response

log = logging.getLogger(__name__)


def record_response(session: Session, invitation: Invitation, *, score: object,
                    comment: str | None, source: str, now: datetime,
                    settings: Settings, resolved: bool | None = None) -> Response:
    response = submit_response(session, invitation, score=score, comment=comment, source=source,
                               now=now, thresholds=policies.effective(session, settings).thresholds,
                               redactor=settings.redactor, resolved=resolved)
    customer = session.get(Customer, invitation.customer_id)  # held since `invitation_by_token`
    if customer is not None and customer.last_surveyed_at is None:
        customer.last_surveyed_at = invitation.sent_at or now
    after_response(session, response, now=now, settings=settings, new=True)
    return response


def record_comment(session: Session, invitation: Invitation, comment: str | None, *,
                   now: datetime, settings: Settings) -> Response:
    window = timedelta(minutes=settings.answer_edit_window_minutes)
    response = add_comment(session, invitation, comment, now, window, settings.redactor)
    after_response(session, response, now=now, settings=settings)
    return response


def record_score_change(session: Session, invitation: Invitation, score: object, *,
                        now: datetime, settings: Settings) -> Response:
    """A mis-tap corrected within the edit window. A recovery task the first score opened
    stays (someone may already be on it) but its timeline says what the customer changed."""
    window = timedelta(minutes=settings.answer_edit_window_minutes)
    response, before = change_score(session, invitation, score, now, window,
                                    policies.effective(session, settings).thresholds)
    if before != response.score:
        if response.interaction_id is not None:
            # A corrected score may belong to a contact whose day is rolled up already.
            contact = session.get(Interaction, response.interaction_id)
            mark_dirty(session, contact.occurred_at if contact else None)
        recovery.on_score_change(session, response, before, now=now)
        after_response(session, response, now=now, settings=settings)
    return response


def after_response(session: Session, response: Response, *, now: datetime,
                   settings: Settings, new: bool = False) -> None:
    """Reactions to a new or changed response (a comment added later counts as a change)."""
    insights.on_response(session, response, now=now, settings=settings)
    if new and events.listening(session, "response.created"):
        # Between the two: its themes are tagged, and the recovery task it may open
        # (task.created, same subject) reaches receivers after it.
        events.emit(session, "response.created", events.customer_subject(response.customer_id),
                    events.response_data(response, insights.themes_for(session, int(response.id or 0))),
                    now)
    recovery.on_response(session, response, now=now, settings=settings, new=new)
