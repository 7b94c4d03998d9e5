"""What people do with a task — claim, release, assign, log a contact, resolve, close — with
the permission checks, shared by the JSON API and the HTML queue so both behave the same.

Rules: leads (and admins) may do anything; a recovery member works the tasks they own, and an
unowned task of their team becomes theirs when they log a contact on it. Nobody without a staff
role gets here (the route guards), and nobody sees a task outside `repository.visible_clause`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from feedback.configuration import policies
from feedback.ingest.service import opted_out_channels
from feedback.notifications.models import Notification
from feedback.notifications.outbox import enqueue
from feedback.recovery import assignment, service
from feedback.recovery.followup import schedule_followup
from feedback.recovery.models import (
    ContactChannel,
    ContactResult,
    Outcome,
    RecoveryContactAttempt,
    RecoveryTask,
    TaskStatus,
)
from feedback.recovery.repository import check_visible
from feedback.recovery.schemas import AssignIn, CloseIn, ContactIn, PriorityIn, ReleaseIn, ResolveIn
from feedback.recovery.service import Actor
from feedback.settings import Settings
from surveys.errors import Conflict, Forbidden, ValidationFailed
from surveys.models import Customer

_CALL_RESULTS = {ContactResult.REACHED, ContactResult.NO_ANSWER, ContactResult.LEFT_MESSAGE,
                 ContactResult.WRONG_NUMBER}


def load(session: Session, task_id: int, principal: Any, settings: Settings, *,
         lock: bool = False) -> RecoveryTask:
    task = service.get_task(session, task_id, lock=lock)
    check_visible(principal, task, settings)
    return task


def _take_for_work(session: Session, task: RecoveryTask, actor: Actor, now: datetime) -> None:
    """A change by someone who is neither the owner nor a lead: allowed on an unowned task,
    which it then claims for them."""
    if actor.is_lead or (task.owner_id is not None and task.owner_id == actor.user_id):
        return
    if task.owner_id is None and actor.user_id is not None:
        service.claim(session, task.id, actor, now)  # type: ignore[arg-type]
        return
    raise Forbidden(f"task {task.id} is owned by someone else; ask a lead to reassign it")


def claim(session: Session, task_id: int, principal: Any, settings: Settings,
          now: datetime) -> RecoveryTask:
    load(session, task_id, principal, settings)
    return service.claim(session, task_id, Actor.of(principal), now)


def release(session: Session, task_id: int, data: ReleaseIn, principal: Any,
            settings: Settings, now: datetime) -> RecoveryTask:
    task = load(session, task_id, principal, settings, lock=True)
    service.release(session, task, Actor.of(principal), now, note=data.note)
    return task


def assign(session: Session, task_id: int, data: AssignIn, principal: Any, settings: Settings,
           now: datetime) -> RecoveryTask:
    actor = Actor.of(principal)
    if not actor.is_lead:
        raise Forbidden("only a lead can assign tasks; you can claim or release them")
    task = load(session, task_id, principal, settings, lock=True)
    user = assignment.staff_user(session, data.user_id)
    if user is None:
        raise ValidationFailed(f"user_id: no active staff member {data.user_id}", field="user_id")
    service.assign(session, task, user, actor, now, reason=data.note)
    return task


def set_priority(session: Session, task_id: int, data: PriorityIn, principal: Any,
                 settings: Settings, now: datetime) -> RecoveryTask:
    actor = Actor.of(principal)
    task = load(session, task_id, principal, settings, lock=True)
    service._require_open(task)
    _take_for_work(session, task, actor, now)
    service.set_priority(session, task, data.priority, actor, now, settings, reason=data.reason)
    return task


def usable_channels(customer: Customer | None) -> list[ContactChannel]:
    """What can reach this customer: no call or SMS without a phone number, no email without
    an address. With neither on file the contact happened some other way: any may be logged."""
    phone, email = bool(customer and customer.phone), bool(customer and customer.email)
    usable = {ContactChannel.CALL: phone, ContactChannel.SMS: phone, ContactChannel.EMAIL: email}
    return [c for c in ContactChannel if usable[c] or not (phone or email)]


def _address(session: Session, task: RecoveryTask, channel: ContactChannel) -> str:
    customer = session.get(Customer, task.customer_id)
    address = (customer.phone if channel == ContactChannel.SMS else customer.email) if customer else None
    if not address:
        what = "phone number" if channel == ContactChannel.SMS else "email address"
        raise ValidationFailed(f"channel: the customer has no {what} on file", field="channel")
    if channel.value in opted_out_channels(session, customer):  # type: ignore[arg-type]
        raise Conflict(f"the customer opted out of {channel.value} messages; call them instead",
                       code="opted_out", field="channel")
    return address


def log_contact(session: Session, task_id: int, data: ContactIn, principal: Any,
                settings: Settings, now: datetime) -> RecoveryContactAttempt:
    """Record a call, SMS or email to the customer. An SMS/email with a message is sent
    through the outreach channels (via the outbox, after commit); the first attempt whose result
    is in `recovery_first_contact_results` (by default: reached) stops the first-contact clock."""
    actor = Actor.of(principal)
    task = load(session, task_id, principal, settings, lock=True)
    service._require_open(task)
    result, address = data.result, None
    if data.channel == ContactChannel.CALL:
        if data.message:
            raise ValidationFailed("message: only SMS and email attempts send a message", field="message")
        if result not in _CALL_RESULTS:
            raise ValidationFailed("result: for a call say reached, no_answer, left_message or "
                                   "wrong_number", field="result")
    elif data.message:
        address = _address(session, task, data.channel)
        result = result or ContactResult.SENT
    elif result is None:
        raise ValidationFailed("message: write the message to send, or give the result of a "
                               "message sent elsewhere", field="message")
    # Checked after the form's own shape, so a wrong form is named first; a crafted form (or
    # the API) cannot log a call to a customer the page offers no call for.
    if data.channel not in usable_channels(session.get(Customer, task.customer_id)):
        what = "phone number" if data.channel != ContactChannel.EMAIL else "email address"
        raise ValidationFailed(f"channel: the customer has no {what} on file, so there was no "
                               f"{data.channel.value} to log", field="channel")
    _take_for_work(session, task, actor, now)
    attempt = RecoveryContactAttempt(task_id=task.id, at=now, user_id=actor.user_id,  # type: ignore[arg-type]
                                     actor=actor.name[:200], channel=data.channel, result=result,
                                     note=data.note, message=data.message, address=address)
    session.add(attempt)
    session.flush()
    if address:
        key = f"recovery:{task.id}:contact:{attempt.id}"
        enqueue(session, kind=data.channel.value, target=address, dedupe_key=key, now=now,
                subject=data.subject or f"{policies.site(session, settings).company}: about your recent feedback",
                body=data.message, payload={"task_id": task.id, "attempt_id": attempt.id})
        attempt.notification_id = session.exec(
            select(Notification.id).where(Notification.dedupe_key == key)).one()
    # Only an attempt that reached the customer (by default) meets the first-contact SLA: a
    # call nobody answered, or a wrong number, leaves the deadline — and its escalation — running.
    first = task.first_contact_at is None and result in settings.recovery_first_contact_results
    if first:
        task.first_contact_at = now
    if result == ContactResult.REACHED and task.reached_at is None:
        task.reached_at = now
    if task.status in (TaskStatus.NEW, TaskStatus.ASSIGNED):
        service.record(session, task, actor, "status", now, before=task.status,
                       after=TaskStatus.CONTACTED)
        task.status = TaskStatus.CONTACTED
    service.schedule(task)
    task.updated_at = now
    session.add(task)
    late = " (after the first-contact deadline)" if first and now > task.first_contact_due_at else ""
    service.record(session, task, actor, "contact", now, after=f"{data.channel.value}: {result}",
                   note=(data.note or "") + late or None)
    return attempt


def resolve(session: Session, task_id: int, data: ResolveIn, principal: Any, settings: Settings,
            now: datetime) -> RecoveryTask:
    actor = Actor.of(principal)
    task = load(session, task_id, principal, settings, lock=True)
    service._require_open(task)
    root_cause = None
    if data.root_cause:
        causes = policies.current(session, settings).doc.root_causes
        known = {c.casefold(): c for c in causes}
        root_cause = known.get(data.root_cause.casefold())
        if root_cause is None:
            raise ValidationFailed(f"root_cause must be one of: {', '.join(causes)}",
                                   field="root_cause")
    elif data.outcome != Outcome.UNREACHABLE:
        raise ValidationFailed("root_cause: say what caused the problem", field="root_cause")
    # Any attempt will do here (an unreachable customer was never "contacted" for the SLA).
    if session.exec(select(RecoveryContactAttempt.id).where(
            RecoveryContactAttempt.task_id == task.id)).first() is None:
        raise Conflict("log at least one contact attempt before resolving", code="no_contact")
    _take_for_work(session, task, actor, now)
    status = TaskStatus.UNREACHABLE if data.outcome == Outcome.UNREACHABLE else TaskStatus.RESOLVED
    service.finish(session, task, status, actor, now, outcome=data.outcome,
                   root_cause=root_cause, note=data.note)
    if data.followup and data.outcome != Outcome.UNREACHABLE:
        schedule_followup(session, task, now=now, settings=settings)
    return task


def close(session: Session, task_id: int, data: CloseIn, principal: Any, settings: Settings,
          now: datetime) -> RecoveryTask:
    """Close without an outcome (a duplicate, a test, a customer who asked not to be called)."""
    actor = Actor.of(principal)
    if not actor.is_lead:
        raise Forbidden("only a lead can close a task without resolving it")
    task = load(session, task_id, principal, settings, lock=True)
    service.finish(session, task, TaskStatus.CLOSED, actor, now, note=data.reason)
    return task
