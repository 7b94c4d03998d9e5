"""Demo data for the recovery queue: the seeded answers opened tasks; here the recovery team
"works" the older ones — through the same actions people use — so the queue shows open,
overdue and resolved tasks and the closed-loop metrics have something to say."""

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
from feedback.responses import record_response
from surveys.models import Invitation, InvitationStatus
from surveys.scoring import SCALES, SurveyKind

# Tasks opened within this long stay open (some of them past their first-contact deadline).
RECENT = timedelta(days=3)
NOTES = ["Apologised and explained what went wrong.", "Refund confirmed on the call.",
         "Customer calmer after the call; offered a credit.", "Left a voicemail, then reached them."]


def work_demo_tasks(engine: Engine, settings: Any, now: datetime, rnd: random.Random) -> int:
    """Contact and resolve most tasks older than RECENT (a few are forgotten: overdue); of the
    recent ones about half have had a first call and await resolution."""
    with Session(engine) as session:
        rows = list(session.exec(select(RecoveryTask.id, RecoveryTask.opened_at).where(
            RecoveryTask.status.in_([s.value for s in OPEN]))  # type: ignore[attr-defined]
            .order_by(RecoveryTask.id)).all())  # type: ignore[arg-type]
    worked = 0
    for task_id, opened_at in rows:
        recent = opened_at >= now - RECENT
        if rnd.random() < (0.5 if recent else 0.06):
            continue
        with transaction(engine) as session:
            worked += _work(session, task_id, settings, now, rnd, resolve=not recent)
    return worked


def _work(session: Session, task_id: int, settings: Any, now: datetime, rnd: random.Random, *,
          resolve: bool) -> int:
    task = session.get(RecoveryTask, task_id)
    owner = session.get(User, task.owner_id) if task and task.owner_id else None
    principal = principal_from_user(session, owner.id) if owner and owner.id else None
    if task is None or principal is None:
        return 0
    # Most first contacts land within the 24 h window, some late.
    hours = rnd.choice([1, 2, 3, 5, 8, 14, 20, 30])
    contacted = min(task.opened_at + timedelta(hours=hours), now - timedelta(minutes=10))
    actions.log_contact(session, task_id, ContactIn(channel="call", result="reached",
                                                    note=rnd.choice(NOTES)),
                        principal, settings, contacted)
    if not resolve:
        return 1
    outcome = rnd.choices(["recovered", "not_recovered", "unreachable"], weights=[65, 22, 13])[0]
    resolved = min(contacted + timedelta(hours=rnd.randint(1, 26)), now - timedelta(minutes=5))
    actions.resolve(session, task_id, ResolveIn(
        outcome=outcome, root_cause=None if outcome == "unreachable" else rnd.choice(
            settings.recovery_root_causes), note="Demo resolution."), principal, settings, resolved)
    _answer_followup(session, task, settings, now, rnd, recovered=outcome == "recovered")
    return 1


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
