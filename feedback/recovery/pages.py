"""The recovery queue for people: /queue and /queue/{id}.

Server-rendered and complete without JavaScript: filters are a GET form (so every view is a
URL), actions are POST forms answered with a redirect (so reloading never repeats them), and
the remaining time is rendered on the server; queue.js only keeps the countdowns ticking.
A refused action re-renders the task page with the reason, keeping what was typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlmodel import Session

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.configuration import policies
from feedback.deps import Conf, Db, Now
from feedback.edge import parse_whole
from feedback.recovery import actions, assignment, repository, sla
from feedback.recovery.models import ContactResult, Outcome, Priority
from feedback.recovery.schemas import (
    AssignIn,
    CloseIn,
    ContactIn,
    PriorityIn,
    ReleaseIn,
    ResolveIn,
    parse,
)
from feedback.recovery.triggers import theme_names
from feedback.settings import Settings
from surveys.errors import DomainError, ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
# Catalogue keys (feedback/locales/*.json): the page shows them in the viewer's language.
DONE_MESSAGES = {k: f"staff.done.{k}" for k in (
    "claimed", "released", "assigned", "contact", "resolved", "closed", "priority",
    "availability")}


def _common(now: datetime) -> dict[str, Any]:
    return {"now": now, "remaining": lambda due: sla.describe_remaining(due, now),
            "PRIORITIES": [p.value for p in Priority]}


@get("/queue", sync_to_thread=True, guards=[allow("recovery.task.read")], include_in_schema=False)
def queue_page(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Template:
    principal = provide_principal(request)
    params = dict(request.query_params)
    try:
        filters = repository.parse_filters(params)
        page = parse_whole(params.get("page"), "page", default=1)
    except ValidationFailed as exc:
        error = exc.message
        filters, page = repository.Filters(), 1
        return _queue(db, principal, settings, now, filters, page, error=error, status=422)
    return _queue(db, principal, settings, now, filters, page,
                  notice=DONE_MESSAGES.get(params.get("done") or ""))


def _queue(db: Session, principal: Any, settings: Settings, now: datetime,
           filters: repository.Filters, page: int, *, error: str | None = None,
           status: int = 200, notice: str | None = None) -> Template:
    result = repository.list_tasks(db, filters, principal, settings, now, page=page, per_page=50)
    return Template(template_name="recovery/queue.html", status_code=status, context={
        **_common(now), "principal": principal, "filters": filters, "result": result,
        "counts": repository.queue_counts(db, principal, settings, now), "error": error,
        "notice": notice,
        "teams": repository.teams(db), "statuses": repository.STATUS_CHOICES,
        # Leads look at one person's queue; members have "mine".
        "owners": repository.assignable_users(db) if principal.role in ("lead", "admin") else [],
    })


# The fields each action's form shows: an error naming one of them is printed beside it.
FORM_FIELDS = {"contact": ("channel", "result", "message", "note"),
               "resolved": ("outcome", "root_cause", "note")}


def _channels(customer: Any) -> list[str]:
    return [c.value for c in actions.usable_channels(customer)]


def _customer_zone(customer: Any) -> ZoneInfo | None:
    """The customer's zone, when known and valid: the page shows their local time in it."""
    if not (customer and customer.time_zone):
        return None
    try:
        return ZoneInfo(customer.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _next_task(db: Session, principal: Any, settings: Settings, now: datetime,
               after: int) -> int | None:
    """The task to open after finishing one: the most urgent open task of this person's queue
    (their own first, then unassigned)."""
    for filters in (repository.Filters(mine=True), repository.Filters(unassigned=True)):
        page = repository.list_tasks(db, filters, principal, settings, now, per_page=5)
        ids = [int(t["id"]) for t in page.items if int(t["id"]) != after]
        if ids:
            return ids[0]
    return None


def _task_page(db: Session, request: Request[Any, Any, Any], task_id: int, settings: Settings,
               now: datetime, *, error: DomainError | None = None,
               form: dict[str, str] | None = None, form_name: str | None = None,
               status: int = 200) -> Template:
    principal = provide_principal(request)
    task = actions.load(db, task_id, principal, settings)
    done = request.query_params.get("done")
    context = repository.task_context(db, task)
    field = error.field if error is not None else None
    beside = field if field in FORM_FIELDS.get(form_name or "", ()) else None
    message = error.message if error is not None else None
    if beside and message and message.startswith(f"{beside}:"):
        message = message[len(beside) + 1:].strip()  # the label beside it already names it
    return Template(template_name="recovery/task.html", status_code=status, context={
        **_common(now), **context, "principal": principal,
        "error": None if beside else message, "field_error": (beside, message) if beside else None,
        "form": form or {}, "form_name": form_name, "notice": DONE_MESSAGES.get(done or ""),
        "next_task": _next_task(db, principal, settings, now, task_id)
        if done in ("resolved", "closed") else None,
        "customer_zone": _customer_zone(context.get("customer")),
        "users": repository.assignable_users(db) if principal.role in ("lead", "admin") else [],
        "root_causes": policies.current(db, settings).doc.root_causes, "outcomes": [o.value for o in Outcome],
        "channels": _channels(context.get("customer")),
        "results": [r.value for r in ContactResult],
        "can_act": principal.role in ("lead", "admin") or task.owner_id in (None, principal.user_id),
        "is_lead": principal.role in ("lead", "admin"),
        # Leads correct the response's themes from here (insights' tag/untag forms).
        "can_tag": principal.can("theme.write"),
        "all_themes": theme_names(db) if principal.can("theme.write") else [],
        "back": f"/queue/{task_id}",
    })


@get("/queue/{task_id:int}", sync_to_thread=True, guards=[allow("recovery.task.read")], include_in_schema=False)
def task_page(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
              settings: Conf) -> Template:
    return _task_page(db, request, task_id, settings, now)


def _do(request: Request[Any, Any, Any], db: Session, now: datetime, settings: Settings,
        task_id: int, done: str, fn: Any, schema: Any, data: dict[str, str]) -> Template | Redirect:
    principal = provide_principal(request)
    try:
        # A savepoint: a refused action leaves nothing half-done behind in this transaction.
        with db.begin_nested():
            if schema is None:
                fn(db, task_id, principal, settings, now)
            else:
                fn(db, task_id, parse(schema, data), principal, settings, now)
    except DomainError as exc:
        if exc.status_code in (401, 404):
            raise
        return _task_page(db, request, task_id, settings, now, error=exc, form=data,
                          form_name=done, status=exc.status_code)
    if not repository.can_see(db, task_id, principal, settings):
        # Released (or handed over) a task of another team: back to a queue this user may see,
        # not to a page that now answers 403.
        return Redirect(f"/queue?done={quote(done)}", status_code=303)
    return Redirect(f"/queue/{task_id}?done={quote(done)}", status_code=303)


def _form(data: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in data.items() if k in keys}


@post("/queue/{task_id:int}/claim", sync_to_thread=True, guards=[allow("recovery.task.claim")], include_in_schema=False,
      status_code=303)
def claim_form(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
               data: Form) -> Template | Redirect:
    return _do(request, db, now, settings, task_id, "claimed", actions.claim, None, data)


@post("/queue/{task_id:int}/release", sync_to_thread=True, guards=[allow("recovery.task.release")],
      include_in_schema=False, status_code=303)
def release_form(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                 settings: Conf, data: Form) -> Template | Redirect:
    return _do(request, db, now, settings, task_id, "released", actions.release, ReleaseIn,
               _form(data, "note"))


@post("/queue/{task_id:int}/assign", sync_to_thread=True, guards=[allow("recovery.task.assign")], include_in_schema=False,
      status_code=303)
def assign_form(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
                data: Form) -> Template | Redirect:
    return _do(request, db, now, settings, task_id, "assigned", actions.assign, AssignIn,
               _form(data, "user_id", "note"))


@post("/queue/{task_id:int}/priority", sync_to_thread=True, guards=[allow("recovery.task.priority")],
      include_in_schema=False, status_code=303)
def priority_form(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                  settings: Conf, data: Form) -> Template | Redirect:
    return _do(request, db, now, settings, task_id, "priority", actions.set_priority, PriorityIn,
               _form(data, "priority", "reason"))


@post("/queue/{task_id:int}/contact", sync_to_thread=True, guards=[allow("recovery.task.contact")],
      include_in_schema=False, status_code=303)
def contact_form(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                 settings: Conf, data: Form) -> Template | Redirect:
    fields = _form(data, "channel", "result", "note", "message", "subject")
    return _do(request, db, now, settings, task_id, "contact", actions.log_contact, ContactIn, fields)


@post("/queue/{task_id:int}/resolve", sync_to_thread=True, guards=[allow("recovery.task.resolve")],
      include_in_schema=False, status_code=303)
def resolve_form(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                 settings: Conf, data: Form) -> Template | Redirect:
    fields = _form(data, "outcome", "root_cause", "note")
    # An unticked checkbox is simply absent from the form.
    fields["followup"] = "true" if data.get("followup") else "false"
    return _do(request, db, now, settings, task_id, "resolved", actions.resolve, ResolveIn, fields)


@post("/queue/{task_id:int}/close", sync_to_thread=True, guards=[allow("recovery.task.close")], include_in_schema=False,
      status_code=303)
def close_form(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
               data: Form) -> Template | Redirect:
    return _do(request, db, now, settings, task_id, "closed", actions.close, CloseIn,
               _form(data, "reason"))


@post("/staff/{user_id:int}/availability", sync_to_thread=True, guards=[allow("recovery.member.availability")],
      include_in_schema=False, status_code=303)
def availability_form(user_id: int, db: Db, data: Form) -> Redirect:
    """The users page's on/off switch for round-robin assignment (admins)."""
    available = _flag(data.get("available"), "available")
    assignment.set_availability(db, user_id, available)
    return Redirect("/queue?done=availability", status_code=303)


def _flag(raw: str | None, field: str) -> bool:
    value = (raw or "").strip().lower()
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    raise ValidationFailed(f"{field} must be true or false", field=field)


routes = [availability_form, queue_page, task_page, claim_form, release_form, assign_form, priority_form,
          contact_form, resolve_form, close_form]
