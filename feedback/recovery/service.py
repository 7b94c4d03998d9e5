"""Service recovery: open or join a task when an answer calls for one, and every change to a
task after that — assignment, contact attempts, resolution — each recorded in its history.

Functions take the session and `now`, never commit, and never send: notifications are rows in
the outbox (sent by a job after commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth.models import Role, User
from feedback.configuration import policies
from feedback.integrations.events import task_event
from feedback.notifications.outbox import enqueue_many, notification
from feedback.recovery import alerts, assignment, sla, triggers
from feedback.recovery.models import (
    DONE,
    OPEN,
    RANK,
    Priority,
    RecoveryEvent,
    RecoveryTask,
    RecoveryTaskResponse,
    TaskStatus,
)
from feedback.settings import Settings
from surveys.errors import Conflict, Forbidden, NotFound
from surveys.models import Customer, Response
from surveys.sql import dialect_insert

FOLLOWUP_PURPOSE = "recovery_followup"
_T = RecoveryTask.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a staff member, an API key or the system itself."""

    name: str
    user_id: int | None = None
    role: str = "system"
    team: str | None = None

    @property
    def is_lead(self) -> bool:
        return self.role in (Role.ADMIN, Role.LEAD)

    @classmethod
    def of(cls, principal: Any) -> Actor:
        return cls(name=principal.name, user_id=principal.user_id, role=principal.role,
                   team=principal.team)


SYSTEM = Actor("system")


def record(session: Session, task: RecoveryTask, actor: Actor, action: str, now: datetime, *,
           before: Any = None, after: Any = None, note: str | None = None) -> None:
    session.add(RecoveryEvent(
        task_id=task.id, at=now, actor_id=actor.user_id, actor=actor.name[:200], action=action,
        from_value=None if before is None else str(before)[:200],
        to_value=None if after is None else str(after)[:200], note=note))
    task_event(session, task, action, after, now)  # task.created, task.assigned, … (integrations)


def schedule(task: RecoveryTask) -> None:
    """Recompute the two indexed deadline columns from the task's state.

    `next_due_at` is the deadline the queue sorts by (first contact until it happened, then
    resolution); `sla_next_at` is the earliest warning or breach the watcher has not handled.
    """
    if task.status in DONE:
        task.next_due_at = task.sla_next_at = task.open_customer_id = None
        return
    pending = []
    if task.first_contact_at is None:
        task.next_due_at = task.first_contact_due_at
        if task.first_contact_warned_at is None:
            pending.append(task.first_contact_warn_at)
        if task.first_contact_breached_at is None:
            pending.append(task.first_contact_due_at)
    else:
        task.next_due_at = task.resolution_due_at
    if task.resolution_warned_at is None:
        pending.append(task.resolution_warn_at)
    if task.resolution_breached_at is None:
        pending.append(task.resolution_due_at)
    task.sla_next_at = min(pending) if pending else None


def _apply_deadlines(task: RecoveryTask, d: sla.Deadlines) -> None:
    task.first_contact_due_at, task.resolution_due_at = d.first_contact_due_at, d.resolution_due_at
    task.first_contact_warn_at, task.resolution_warn_at = d.first_contact_warn_at, d.resolution_warn_at


# --- Opening and joining -----------------------------------------------------------------


def on_response(session: Session, response: Response, *, themes: list[str], now: datetime,
                settings: Settings) -> None:
    """Open or join a recovery task when a response calls for one (an answer's follow-up,
    feedback.followups, with the themes insights tagged on it).

    Run for a new answer and again when its comment arrives later: keywords in the comment
    are evaluated then, and a response already linked to a task is never linked twice — so
    running it twice for the same answer opens nothing the second time.
    """
    if not settings.recovery_enabled or response.id is None:
        return
    if response.purpose == FOLLOWUP_PURPOSE:
        from feedback.recovery.followup import record_followup_answer

        record_followup_answer(session, response, now=now)
        return
    reasons = triggers.evaluate(response, settings, themes)
    link = session.exec(select(RecoveryTaskResponse).where(
        RecoveryTaskResponse.response_id == response.id)).first()
    if link is not None:
        _add_reasons(session, link, reasons, now)
        return
    if not reasons:
        return
    # Most customers have no open task: try to open one straight away; the insert finds the
    # open one when there is (one look-up fewer than asking first).
    task = _create(session, response, reasons, now=now, settings=settings)
    if task.response_id != response.id:
        _join(session, task, response, reasons, now=now, settings=settings)


def on_score_change(session: Session, response: Response, before: int, *, now: datetime) -> None:
    """The customer corrected their score (at `now`): note it on the task the answer belongs
    to, once (a follow-up run twice finds its note there already)."""
    link = session.exec(select(RecoveryTaskResponse)
                        .where(RecoveryTaskResponse.response_id == response.id)).first()
    task = session.get(RecoveryTask, link.task_id) if link is not None else None
    if task is None:
        return
    noted = session.exec(select(RecoveryEvent.id).where(
        RecoveryEvent.task_id == task.id, RecoveryEvent.action == "score_changed",
        RecoveryEvent.at == now)).first()
    if noted is None:
        record(session, task, Actor("customer"), "score_changed", now, before=before,
               after=response.score, note="changed on the thank-you page within the edit window")


def open_task_for(session: Session, customer_id: int) -> RecoveryTask | None:
    return session.exec(select(RecoveryTask)
                        .where(RecoveryTask.open_customer_id == customer_id)).first()


def _priority(session: Session, response: Response, settings: Settings, *, repeat: bool) -> Priority:
    customer = session.get(Customer, response.customer_id)
    very_low = "score" in triggers.evaluate(response, settings, []) and triggers.is_very_low(
        response.kind, response.score)
    return triggers.priority_for(very_low=very_low, vip=triggers.is_vip(customer, settings),
                                 repeat=repeat)


def _create(session: Session, response: Response, reasons: list[str], *, now: datetime,
            settings: Settings) -> RecoveryTask:
    repeat = "score" in reasons and triggers.had_recent_negative(
        session, response, settings.recovery_repeat_days)
    priority = _priority(session, response, settings, repeat=repeat)
    start = response.submitted_at
    task = RecoveryTask(
        customer_id=response.customer_id, open_customer_id=response.customer_id,
        response_id=response.id, interaction_id=response.interaction_id, kind=response.kind,
        score=response.score, classification=response.classification, team=response.team,
        agent=response.agent, status=TaskStatus.NEW, priority=priority,
        triggers=reasons + (["repeat"] if repeat else []), opened_at=start,
        created_at=now, updated_at=now,
        **_deadline_fields(_deadlines(session, settings, start, priority, response.team)))
    schedule(task)
    # The unique open_customer_id decides a race, in the insert itself (no savepoint): the
    # loser inserts nothing and joins the winner's task.
    values = {c.name: getattr(task, c.key) for c in _T.columns if c.name != "id"}
    inserted = session.scalars(dialect_insert(session, RecoveryTask).values(**values)
                               .on_conflict_do_nothing(index_elements=["open_customer_id"])
                               .returning(RecoveryTask)).first()
    if inserted is None:
        existing = open_task_for(session, response.customer_id)
        if existing is None:  # pragma: no cover - the conflicting task closed before we read
            raise Conflict("a recovery task for this customer changed meanwhile; try again",
                           code="task_race")
        return existing
    task = inserted
    session.add(RecoveryTaskResponse(task_id=task.id, response_id=response.id,  # type: ignore[arg-type]
                                     triggers=reasons, joined_at=now))
    record(session, task, SYSTEM, "opened", now, after=priority,
           note=f"{response.kind.upper()} {response.score} ({response.classification}); "
                f"why: {', '.join(task.triggers)}")
    owner = assignment.choose_owner(session, team=task.team, settings=settings, now=now)
    if owner is not None:
        assign(session, task, owner, SYSTEM, now, reason=settings.recovery_assignment)
    return task


def _deadlines(session: Session, settings: Settings, start: datetime, priority: str,
               team: str | None) -> sla.Deadlines:
    """The task's due times under the current policies (its team's targets and calendar)."""
    pol = policies.current(session, settings)
    return sla.deadlines(settings, start, priority, pol.calendar(team),
                         spans=pol.windows(team, priority))


def _deadline_fields(d: sla.Deadlines) -> dict[str, datetime]:
    return {"first_contact_due_at": d.first_contact_due_at, "resolution_due_at": d.resolution_due_at,
            "first_contact_warn_at": d.first_contact_warn_at, "resolution_warn_at": d.resolution_warn_at}


def _join(session: Session, task: RecoveryTask, response: Response, reasons: list[str], *,
          now: datetime, settings: Settings) -> None:
    """A new answer from a customer whose task is still open joins it (one task per customer).
    A second negative answer makes the task at least high priority."""
    session.add(RecoveryTaskResponse(task_id=task.id, response_id=response.id,  # type: ignore[arg-type]
                                     triggers=reasons, joined_at=now))
    task.triggers = sorted(set(task.triggers) | set(reasons))
    record(session, task, SYSTEM, "joined", now, after=f"response {response.id}",
           note=f"{response.kind.upper()} {response.score} ({response.classification}); "
                f"why: {', '.join(reasons)}")
    if "score" in reasons:
        new = _priority(session, response, settings, repeat=True)
        if RANK[Priority(new)] > RANK[Priority(task.priority)]:
            set_priority(session, task, new, SYSTEM, now, settings, reason="repeat negative answer")
    task.updated_at = now
    session.add(task)


def _add_reasons(session: Session, link: RecoveryTaskResponse, reasons: list[str],
                 now: datetime) -> None:
    new = [r for r in reasons if r not in (link.triggers or [])]
    if not new:
        return
    task = session.get(RecoveryTask, link.task_id)
    link.triggers = [*(link.triggers or []), *new]
    session.add(link)
    if task is not None:
        task.triggers = sorted(set(task.triggers) | set(new))
        task.updated_at = now
        session.add(task)
        record(session, task, SYSTEM, "triggers", now, after=", ".join(new),
               note="the comment added later matched")


# --- Changes made by people -------------------------------------------------------------


def get_task(session: Session, task_id: int, *, lock: bool = False) -> RecoveryTask:
    stmt = select(RecoveryTask).where(RecoveryTask.id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    task = session.exec(stmt).first()
    if task is None:
        raise NotFound(f"recovery task {task_id} not found", field="task_id")
    return task


def _require_open(task: RecoveryTask) -> None:
    if task.status in DONE:
        raise Conflict(f"task {task.id} is already {task.status}", code="task_finished")


def set_priority(session: Session, task: RecoveryTask, priority: str, actor: Actor,
                 now: datetime, settings: Settings, reason: str | None = None) -> None:
    """Change the priority; the windows are recomputed from the original response time and only
    ever tightened, so nobody gains time by a priority change."""
    new = Priority(priority)
    if new == task.priority:
        return
    d = _deadlines(session, settings, task.opened_at, new, task.team)
    before = task.priority
    task.priority = new
    task.first_contact_due_at = min(task.first_contact_due_at, d.first_contact_due_at)
    task.resolution_due_at = min(task.resolution_due_at, d.resolution_due_at)
    task.first_contact_warn_at = min(task.first_contact_warn_at, d.first_contact_warn_at)
    task.resolution_warn_at = min(task.resolution_warn_at, d.resolution_warn_at)
    schedule(task)
    task.updated_at = now
    session.add(task)
    record(session, task, actor, "priority", now, before=before, after=new, note=reason)


def assign(session: Session, task: RecoveryTask, user: User, actor: Actor, now: datetime,
           reason: str | None = None) -> None:
    _require_open(task)
    if user.role not in (Role.RECOVERY, Role.LEAD, Role.ADMIN) or not user.active:
        raise Conflict(f"{user.name} is not an active recovery team member", code="not_assignable")
    before = _owner_name(session, task.owner_id)
    task.owner_id, task.assigned_at = user.id, now
    if task.status == TaskStatus.NEW:
        record(session, task, actor, "status", now, before=task.status, after=TaskStatus.ASSIGNED)
        task.status = TaskStatus.ASSIGNED
    task.updated_at = now
    session.add(task)
    record(session, task, actor, "assigned", now, before=before, after=user.name, note=reason)


def claim(session: Session, task_id: int, actor: Actor, now: datetime) -> RecoveryTask:
    """Take an unowned task. Atomic: of two people clicking at once, one gets it, one a 409."""
    if actor.user_id is None:
        raise Forbidden("claiming needs a signed-in staff member (an API key is nobody)")
    user = assignment.staff_user(session, actor.user_id)
    if user is None:
        raise Forbidden("your account is not active")
    won = session.execute(
        sa.update(_T).where(_T.c.id == task_id, _T.c.owner_id.is_(None),
                            _T.c.status.in_([s.value for s in OPEN]))
        .values(owner_id=user.id, assigned_at=now, updated_at=now)).rowcount
    task = get_task(session, task_id)
    session.refresh(task)
    if not won:
        _require_open(task)
        if task.owner_id == user.id:
            return task
        raise Conflict(f"task {task_id} is already owned by {_owner_name(session, task.owner_id)}",
                       code="already_claimed")
    if task.status == TaskStatus.NEW:
        record(session, task, actor, "status", now, before=task.status, after=TaskStatus.ASSIGNED)
        task.status = TaskStatus.ASSIGNED
        session.add(task)
    record(session, task, actor, "claimed", now, after=user.name)
    return task


def release(session: Session, task: RecoveryTask, actor: Actor, now: datetime,
            note: str | None = None) -> None:
    _require_open(task)
    if task.owner_id is None:
        raise Conflict(f"task {task.id} has no owner to release", code="not_owned")
    if task.owner_id != actor.user_id and not actor.is_lead:
        raise Forbidden("only the owner or a lead can release this task")
    before = _owner_name(session, task.owner_id)
    task.owner_id = task.assigned_at = None
    if task.status == TaskStatus.ASSIGNED:
        record(session, task, actor, "status", now, before=task.status, after=TaskStatus.NEW)
        task.status = TaskStatus.NEW
    task.updated_at = now
    session.add(task)
    record(session, task, actor, "released", now, before=before, note=note)


def _owner_name(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.name if user else f"user {user_id}"


def finish(session: Session, task: RecoveryTask, status: TaskStatus, actor: Actor, now: datetime,
           *, outcome: str | None = None, root_cause: str | None = None,
           note: str | None = None) -> None:
    """Move a task to a final state; the customer may get a new task from the next answer."""
    _require_open(task)
    before = task.status
    task.status, task.resolved_at, task.updated_at = status, now, now
    task.outcome, task.root_cause, task.resolution_note = outcome, root_cause, note
    schedule(task)
    session.add(task)
    record(session, task, actor, "status", now, before=before, after=status,
           note="; ".join(x for x in (outcome and f"outcome: {outcome}",
                                      root_cause and f"root cause: {root_cause}", note) if x))


def customer_reply(session: Session, customer_ids: list[int], text: str, *, via: str, ref: str,
                   now: datetime, settings: Settings) -> RecoveryTask | None:
    """A customer's own words after the survey (an SMS "please call me after 5pm") reach their
    recovery task — the open one, else the last one resolved within
    `recovery_reply_window_days` — as a timeline entry, and its owner (or, with no owner, the
    team's leads) gets an e-mail through the outbox. None when there is no such task."""
    if not customer_ids:
        return None
    since = now - timedelta(days=settings.recovery_reply_window_days)
    task = session.exec(
        select(RecoveryTask).where(
            RecoveryTask.customer_id.in_(customer_ids),  # type: ignore[attr-defined]
            sa.or_(RecoveryTask.resolved_at.is_(None),  # type: ignore[union-attr]
                   RecoveryTask.resolved_at >= since))  # type: ignore[operator]
        .order_by(RecoveryTask.resolved_at.is_not(None),  # type: ignore[union-attr]
                  sa.desc(RecoveryTask.opened_at))).first()  # type: ignore[arg-type]
    if task is None:
        return None
    record(session, task, Actor("customer"), "customer_reply", now, after=via,
           note=text[:4000])
    task.updated_at = now
    session.add(task)
    owner = session.get(User, task.owner_id) if task.owner_id else None
    people = ([owner.email] if owner and owner.active else
              [u.email for u in alerts.leads_for(alerts.active_leads(session), task.team)])
    subject = f"Customer replied on recovery task #{task.id}"
    body = (f"The customer wrote ({via}, {now:%Y-%m-%d %H:%M} UTC):\n\n{text[:4000]}\n\n"
            f"Open the task: {settings.public_url}/queue/{task.id}\n")
    enqueue_many(session, [notification(
        kind="email", target=email, now=now, subject=subject, body=body,
        payload={"event": "recovery.customer_reply", "task_id": task.id},
        dedupe_key=f"recovery:{task.id}:reply:{ref}:{email}") for email in dict.fromkeys(people)])
    return task
