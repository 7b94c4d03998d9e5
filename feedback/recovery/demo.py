"""Demo data for the recovery queue: the seeded answers opened tasks; here the recovery team
"works" them — through the same actions people use — the way a team that mostly keeps its SLA
would, so the queue a newcomer opens *today* looks like a real morning: a handful of open
tasks, most within their deadlines, one or two forgotten and overdue.

The SLA watcher ran all along in this fictional history: `settle_history` marks the warnings
and breaches that fell before `now` as handled back then (in the task's history, without
notifications), so the real watcher's first run does not e-mail leads about months-old events.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from feedback.auth.models import User
from feedback.auth.service import principal_from_user
from feedback.db import transaction
from feedback.recovery import actions
from feedback.recovery.models import OPEN, RecoveryTask
from feedback.recovery.schemas import ContactIn, ResolveIn
from feedback.recovery.tasks import SlaReport, check_task
from feedback.responses import record_response
from surveys.models import Customer, Invitation, InvitationStatus
from surveys.scoring import SCALES, SurveyKind

# One task whose first contact was forgotten and one left unresolved after a call, both from
# the last few days: enough for the queue to show what "overdue" looks like, no more.
FORGOTTEN_WITHIN = timedelta(days=5)
FORGET = ("contact", "resolution")
CALL_NOTES = [
    "Apologised and explained what went wrong.",
    "Refund confirmed on the call; customer happy with the timeline.",
    "Customer calmer after the call; offered a one-month credit.",
    "Walked them through the new bill line by line.",
    "Booked a technician visit for Thursday morning.",
    "They had already found a workaround; thanked us for calling back.",
    "Escalated the double charge to finance, promised an update tomorrow.",
    "Listened to the whole story; the hold time was the real problem.",
    "Reset the account and confirmed the app works again.",
    "Customer still upset but accepted the goodwill gesture.",
]
NO_ANSWER_NOTES = ["No answer; will try again this afternoon.", "Voicemail full.",
                   "Rang out twice; SMS next."]
RESOLUTIONS = {
    "recovered": ["Refund issued and confirmed by e-mail.", "Credit applied; customer will stay.",
                  "Fixed on the call; customer thanked the team.",
                  "Technician visit solved the outage."],
    "not_recovered": ["Customer cancelled anyway; feedback passed to the product team.",
                      "Could not offer what they asked for; explained why.",
                      "Policy does not allow a refund here; customer unhappy."],
    "unreachable": ["Three attempts over two days, no answer.",
                    "Number no longer in service; e-mail bounced."],
}


def work_demo_tasks(engine: Engine, settings: Any, now: datetime, rnd: random.Random) -> int:
    """Work every task as a team that keeps its SLA most of the time would have by `now`."""
    with Session(engine) as session:
        ids = list(session.exec(select(RecoveryTask.id).where(
            RecoveryTask.status.in_([s.value for s in OPEN]))  # type: ignore[attr-defined]
            .order_by(RecoveryTask.id)).all())  # type: ignore[arg-type]
    worked, forget = 0, set(FORGET)
    for task_id in ids:
        with transaction(engine) as session:
            worked += _work(session, int(task_id or 0), settings, now, rnd, forget)
    return worked


def _at(start: datetime, end: datetime, share: float, now: datetime) -> datetime:
    """A moment `share` of the way from start to end, never in the future."""
    return min(start + (end - start) * share, now - timedelta(minutes=3))


def _work(session: Session, task_id: int, settings: Any, now: datetime, rnd: random.Random,
          forget: set[str]) -> int:
    task = session.get(RecoveryTask, task_id)
    owner = session.get(User, task.owner_id) if task and task.owner_id else None
    principal = principal_from_user(session, owner.id) if owner and owner.id else None
    if task is None or principal is None:
        return 0
    opened, contact_due = task.opened_at, task.first_contact_due_at
    resolution_due = task.resolution_due_at
    if contact_due > now:  # still inside the first-contact window: some reached so far
        if rnd.random() < 0.6:
            return 0
        contacted = _at(opened, now, rnd.uniform(0.2, 0.9), now)
    else:
        if "contact" in forget and resolution_due >= now - FORGOTTEN_WITHIN:
            forget.discard("contact")
            return 0  # forgotten: nobody called (overdue)
        # Most first contacts land within the window, a few late.
        share = rnd.uniform(0.05, 0.8) if rnd.random() < 0.92 else rnd.uniform(1.05, 1.4)
        contacted = _at(opened, contact_due, share, now)
    customer = session.get(Customer, task.customer_id)
    if customer is not None and customer.phone:
        if rnd.random() < 0.25:
            actions.log_contact(session, task_id, ContactIn(
                channel="call", result="no_answer", note=rnd.choice(NO_ANSWER_NOTES)),
                principal, settings, _at(opened, contacted, 0.5, now))
        reached = ContactIn(channel="call", result="reached", note=rnd.choice(CALL_NOTES))
    else:  # no phone: an e-mail conversation, written outside the product
        note = rnd.choice(CALL_NOTES)
        reached = ContactIn(channel="email", result="reached",
                            note=f"No phone on file, answered by e-mail. {note}")
    actions.log_contact(session, task_id, reached, principal, settings, contacted)
    if resolution_due > now:
        # Inside the resolution window: some are already settled, the rest are being worked.
        if rnd.random() < 0.7:
            return 1
        resolved = _at(contacted, now, rnd.uniform(0.3, 1.0), now)
    elif "resolution" in forget and resolution_due >= now - FORGOTTEN_WITHIN:
        forget.discard("resolution")
        return 1  # contacted, then left: the resolution deadline passed (overdue)
    else:
        share = rnd.uniform(0.1, 0.9) if rnd.random() < 0.9 else rnd.uniform(1.05, 1.5)
        resolved = _at(contacted, resolution_due, share, now)
    outcome = rnd.choices(["recovered", "not_recovered", "unreachable"], weights=[68, 22, 10])[0]
    actions.resolve(session, task_id, ResolveIn(
        outcome=outcome, root_cause=None if outcome == "unreachable" else rnd.choice(
            settings.recovery_root_causes), note=rnd.choice(RESOLUTIONS[outcome])),
        principal, settings, max(resolved, contacted))
    _answer_followup(session, task, settings, now, rnd, recovered=outcome == "recovered")
    return 1


def settle_history(engine: Engine, settings: Any, now: datetime) -> int:
    """Handle every SLA warning and breach that fell before `now` at the moment it fell, as the
    watcher would have, dropping the notifications: they went out back then. Returns how many
    tasks carry such history."""
    settled = 0
    with transaction(engine) as session:
        tasks = list(session.exec(select(RecoveryTask).where(
            RecoveryTask.sla_next_at <= now)).all())  # type: ignore[operator]
        leads: list[User] = []  # nobody is told: the history is only recorded
        for task in tasks:
            while task.sla_next_at is not None and task.sla_next_at <= now:
                check_task(session, task, now=task.sla_next_at, settings=settings,
                           report=SlaReport(), leads=leads, outbox=[])
            settled += 1
    return settled


def _answer_followup(session: Session, task: RecoveryTask, settings: Any, now: datetime,
                     rnd: random.Random, *, recovered: bool) -> None:
    """The follow-up went out when due; about half the customers answer it."""
    inv = session.get(Invitation, task.followup_invitation_id) if task.followup_invitation_id else None
    if inv is None or inv.send_at >= now:
        return
    inv.status, inv.sent_at = InvitationStatus.SENT, inv.send_at
    answered = inv.send_at + timedelta(hours=rnd.randint(1, 20))
    if answered >= now or rnd.random() < 0.5:
        return
    scale = SCALES[SurveyKind(task.kind)]
    lift = rnd.randint(2, 6) if recovered else rnd.randint(-1, 2)
    record_response(session, inv, score=min(scale.high, max(scale.low, task.score + lift)),
                    comment=None, source="web", now=answered, settings=settings)
