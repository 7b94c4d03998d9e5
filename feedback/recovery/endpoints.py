"""The recovery JSON API under /api/recovery: the queue, one task, and every action on it.

Reads accept an API key or a signed-in session; writes need an API key (see auth.guards).
Bodies are validated into 422s naming the field; a task outside the caller's team is a 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.params import JSONBody, QueryParameter

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.edge import parse_whole
from feedback.recovery import actions, assignment, metrics, repository
from feedback.recovery.schemas import (
    AssignIn,
    CloseIn,
    ContactIn,
    PriorityIn,
    ReleaseIn,
    ResolveIn,
    parse,
    task_json,
)
from feedback.settings import Settings
from surveys.errors import ValidationFailed

_TAGS = ["recovery"]


def _detail(db: Db, task: Any, now: Any) -> dict[str, Any]:
    ctx = repository.task_context(db, task)

    def resp(r: Any) -> dict[str, Any]:
        return {"id": r.id, "kind": r.kind, "score": r.score, "classification": r.classification,
                "comment": r.comment, "submitted_at": r.submitted_at.isoformat(),
                "purpose": r.purpose, "themes": ctx["themes"].get(r.id, [])}

    customer, interaction = ctx["customer"], ctx["interaction"]
    return task_json(
        task, now,
        owner_name=ctx["owner"].name if ctx["owner"] else None,
        customer={"id": customer.id, "name": customer.name, "tier": customer.tier,
                  "email": customer.email, "phone": customer.phone, "locale": customer.locale}
        if customer else None,
        interaction={"id": interaction.id, "external_id": interaction.external_id,
                     "channel": interaction.channel, "agent": interaction.agent,
                     "team": interaction.team, "queue": interaction.queue,
                     "occurred_at": interaction.occurred_at.isoformat(),
                     # a helpdesk connector's ticket link (feedback/integrations)
                     "ticket_url": (interaction.meta or {}).get("ticket_url")} if interaction else None,
        responses=[resp(r) for r in ctx["responses"]],
        earlier_responses=[resp(r) for r in ctx["earlier"]],
        history=[{"at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                  "from": e.from_value, "to": e.to_value, "note": e.note} for e in ctx["history"]],
        contact_attempts=[{"id": a.id, "at": a.at.isoformat(), "actor": a.actor, "channel": a.channel,
                           "result": a.result, "note": a.note, "message": a.message,
                           "notification_id": a.notification_id} for a in ctx["attempts"]],
        followup={"invitation_id": ctx["followup"].id, "status": ctx["followup"].status,
                  "send_at": ctx["followup"].send_at.isoformat()} if ctx["followup"] else None,
    )


@get("/api/recovery/tasks", sync_to_thread=True, guards=[allow("recovery.task.read")], tags=_TAGS,
     summary="The recovery queue: filtered, nearest deadline first, paginated",
     description="Filters: status (open [default], overdue, all, new, assigned, contacted, "
                 "resolved, unreachable, closed), mine, team, priority, owner_id, unassigned. "
                 "Recovery members see their team's tasks and their own; leads see all.")
def list_tasks(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
               status: str | None = None, mine: str | None = None, team: str | None = None,
               priority: str | None = None, owner_id: str | None = None,
               unassigned: str | None = None, page: str | None = None,
               per_page: str | None = None) -> dict[str, Any]:
    principal = provide_principal(request)
    filters = repository.parse_filters({"status": status, "mine": mine, "team": team,
                                        "priority": priority, "owner_id": owner_id,
                                        "unassigned": unassigned})
    result = repository.list_tasks(db, filters, principal, settings, now,
                                   page=parse_whole(page, "page", default=1),
                                   per_page=parse_whole(per_page, "per_page", default=50, hi=200))
    return {"items": [task_json(row, now) for row in result.items], "total": result.total,
            "page": result.page, "per_page": result.per_page, "pages": result.pages,
            "counts": repository.queue_counts(db, principal, settings, now)}


@get("/api/recovery/tasks/{task_id:int}", sync_to_thread=True, guards=[allow("recovery.task.read")], tags=_TAGS,
     summary="One task with its customer, answers, interaction, contact attempts and history")
def get_task(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
             settings: Conf) -> dict[str, Any]:
    task = actions.load(db, task_id, provide_principal(request), settings)
    return _detail(db, task, now)


def _act(request: Request[Any, Any, Any], db: Db, now: Now, settings: Settings, task_id: int,
         fn: Any, schema: Any, data: Any) -> dict[str, Any]:
    principal = provide_principal(request)
    if schema is None:
        task = fn(db, task_id, principal, settings, now)
    else:
        task = fn(db, task_id, parse(schema, data), principal, settings, now)
    db.flush()
    return _detail(db, task, now)


@post("/api/recovery/tasks/{task_id:int}/claim", sync_to_thread=True, guards=[allow("recovery.task.claim")], tags=_TAGS,
      status_code=200, summary="Take an unowned task (409 when someone was quicker)")
def claim(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    return _act(request, db, now, settings, task_id, actions.claim, None, None)


@post("/api/recovery/tasks/{task_id:int}/release", sync_to_thread=True, guards=[allow("recovery.task.release")], tags=_TAGS,
      status_code=200, summary="Give a task back to the queue (owner or lead)")
def release(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
            data: JSONBody[dict[str, Any] | None] = None) -> dict[str, Any]:
    return _act(request, db, now, settings, task_id, actions.release, ReleaseIn, data)


@post("/api/recovery/tasks/{task_id:int}/assign", sync_to_thread=True, guards=[allow("recovery.task.assign")], tags=_TAGS,
      status_code=200, summary="Assign or reassign a task to a staff member (leads)")
def assign(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
           data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return _act(request, db, now, settings, task_id, actions.assign, AssignIn, data)


@post("/api/recovery/tasks/{task_id:int}/priority", sync_to_thread=True, guards=[allow("recovery.task.priority")], tags=_TAGS,
      status_code=200, summary="Change the priority (deadlines only ever tighten)")
def priority(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
             data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return _act(request, db, now, settings, task_id, actions.set_priority, PriorityIn, data)


@post("/api/recovery/tasks/{task_id:int}/contact-attempts", sync_to_thread=True, guards=[allow("recovery.task.contact")],
      tags=_TAGS, status_code=201,
      summary="Log a call, SMS or email; an SMS/email `message` is sent to the customer")
def contact(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
            data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    principal = provide_principal(request)
    actions.log_contact(db, task_id, parse(ContactIn, data), principal, settings, now)
    db.flush()
    return _detail(db, actions.load(db, task_id, principal, settings), now)


@post("/api/recovery/tasks/{task_id:int}/resolve", sync_to_thread=True, guards=[allow("recovery.task.resolve")], tags=_TAGS,
      status_code=200, summary="Resolve with an outcome and a root cause; schedules the follow-up")
def resolve(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
            data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return _act(request, db, now, settings, task_id, actions.resolve, ResolveIn, data)


@post("/api/recovery/tasks/{task_id:int}/close", sync_to_thread=True, guards=[allow("recovery.task.close")], tags=_TAGS,
      status_code=200, summary="Close without an outcome (leads): duplicates, tests")
def close(task_id: int, request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
          data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return _act(request, db, now, settings, task_id, actions.close, CloseIn, data)


@get("/api/recovery/metrics", sync_to_thread=True, guards=[allow("recovery.metrics.read")], tags=_TAGS,
     summary="Closed-loop metrics: reach, time to contact and resolution, SLA, recovery rate")
def get_metrics(db: Db, now: Now, settings: Conf,
                from_: Annotated[str | None, QueryParameter(name="from")] = None,
                to: str | None = None, group_by: str | None = None) -> Response[dict[str, Any]]:
    period = metrics.parse_period(now, from_, to)
    return Response(metrics.loop_metrics(db, period, group_by=group_by, settings=settings,
                                         now=now))


@put("/api/recovery/members/{user_id:int}/availability", sync_to_thread=True,
     guards=[allow("recovery.member.availability")], tags=_TAGS,
     summary="Put a recovery member on or off rotation (admins)")
def set_availability(user_id: int, db: Db, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    available = data.get("available") if isinstance(data, dict) else None
    if not isinstance(available, bool):
        raise ValidationFailed("available must be true or false", field="available")
    user = assignment.set_availability(db, user_id, available)
    return {"id": user.id, "name": user.name, "team": user.team, "available": user.available}


routes = [set_availability, list_tasks, get_task, claim, release, assign, priority, contact, resolve, close,
          get_metrics]
