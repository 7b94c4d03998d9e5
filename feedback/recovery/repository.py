"""Reading tasks: who may see which, the filtered queue, and one task with its context.

The queue is one indexed range read: open tasks carry `next_due_at`, finished ones do not, so
"open, nearest deadline first" walks the partial index `ix_recovery_task_open` (open tasks
only, with owner, team and priority in it, so filters and the counts above the queue are read
from the index) and stops after a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth import permissions
from feedback.auth.models import Role, User
from feedback.edge import parse_whole
from feedback.recovery.models import (
    DONE,
    Priority,
    RecoveryContactAttempt,
    RecoveryEvent,
    RecoveryTask,
    RecoveryTaskResponse,
    TaskStatus,
)
from feedback.recovery.triggers import response_themes
from surveys.errors import Forbidden, ValidationFailed
from surveys.models import Customer, Interaction, Invitation, Response

_T = RecoveryTask.__table__  # type: ignore[attr-defined]
_C = Customer.__table__  # type: ignore[attr-defined]
_U = User.__table__  # type: ignore[attr-defined]
_R = Response.__table__  # type: ignore[attr-defined]
STATUS_CHOICES = ("open", "all", "overdue", *(s.value for s in TaskStatus))
SOON = timedelta(hours=4)  # "due soon" in the queue
_OPEN = _T.c.next_due_at.is_not(None)  # ⇔ status is new, assigned or contacted


# --- Who sees what ---------------------------------------------------------------------------


def _team(principal: Any, settings: Any) -> Any:
    # The permission table decides (recovery members and team leads: their team).
    try:
        return permissions.team_scope(principal, "recovery.task.read", settings)
    except Forbidden:
        return None


def sees_all(principal: Any, settings: Any) -> bool:
    return _team(principal, settings) is permissions.EVERY_TEAM


def visible_clause(principal: Any, settings: Any) -> Any:
    """SQL condition for the tasks this principal may see: their team's tasks (every team's for
    admins and leads without a team) and the ones they own."""
    team = _team(principal, settings)
    if team is permissions.EVERY_TEAM:
        return sa.true()
    clauses = []
    if team:
        clauses.append(_T.c.team == team)
    if principal.user_id is not None:
        clauses.append(_T.c.owner_id == principal.user_id)
    return sa.or_(*clauses) if clauses else sa.false()


def check_visible(principal: Any, task: RecoveryTask, settings: Any) -> None:
    team = _team(principal, settings)
    if team is permissions.EVERY_TEAM or (team and task.team == team) or (
            principal.user_id is not None and task.owner_id == principal.user_id):
        return
    raise Forbidden(f"task {task.id} belongs to team {task.team or '(none)'}; "
                    "you can see your own team's tasks")


# --- The queue -----------------------------------------------------------------------------


@dataclass
class Filters:
    status: str = "open"
    mine: bool = False
    team: str | None = None
    priority: str | None = None
    owner_id: int | None = None
    unassigned: bool = False

    def query_string(self, **over: Any) -> str:
        from urllib.parse import urlencode

        values = {**self.__dict__, **over}
        pairs = {k: ("1" if v is True else v) for k, v in values.items()
                 if v not in (None, False, "") and not (k == "status" and v == "open")}
        return urlencode(pairs)


def parse_filters(raw: dict[str, Any]) -> Filters:
    """From query parameters (strings) to filters; a bad value is a 422 naming the parameter."""
    def flag(name: str) -> bool:
        value = str(raw.get(name) or "").strip().lower()
        if value in ("", "0", "false", "no", "off"):
            return False
        if value in ("1", "true", "yes", "on"):
            return True
        raise ValidationFailed(f"{name} must be true or false", field=name)

    status = str(raw.get("status") or "open").strip().lower()
    if status not in STATUS_CHOICES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUS_CHOICES)}", field="status")
    priority = str(raw.get("priority") or "").strip().lower() or None
    if priority and priority not in {p.value for p in Priority}:
        raise ValidationFailed("priority must be normal, high or urgent", field="priority")
    owner = parse_whole(raw.get("owner_id"), "owner_id", default=0) or None
    return Filters(status=status, mine=flag("mine"), team=(str(raw.get("team") or "").strip() or None),
                   priority=priority, owner_id=owner,
                   unassigned=flag("unassigned"))


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _where(filters: Filters, principal: Any, settings: Any, now: datetime) -> list[Any]:
    where = [visible_clause(principal, settings)]
    if filters.status == "open":
        # Open tasks are exactly those with a next deadline (service.schedule keeps it so):
        # the condition alone lets the planner answer from ix_recovery_task_open.
        where.append(_OPEN)
    elif filters.status == "overdue":
        where.append(_T.c.next_due_at < now)
    elif filters.status != "all":
        where.append(_T.c.status == filters.status)
    if filters.mine:
        where.append(_T.c.owner_id == principal.user_id if principal.user_id else sa.false())
    if filters.owner_id is not None:
        where.append(_T.c.owner_id == filters.owner_id)
    if filters.unassigned:
        where.append(_T.c.owner_id.is_(None))
    if filters.team:
        where.append(_T.c.team == filters.team)
    if filters.priority:
        where.append(_T.c.priority == filters.priority)
    return where


def _order(filters: Filters) -> list[Any]:
    if filters.status in {s.value for s in DONE}:
        return [_T.c.resolved_at.desc(), _T.c.id.desc()]
    if filters.status in ("open", "overdue"):  # nearest deadline first: overdue on top
        return [_T.c.next_due_at, _T.c.id]
    # Everything: open by deadline, then finished ones, most recent first.
    return [_T.c.next_due_at.is_(None), _T.c.next_due_at, _T.c.resolved_at.desc(), _T.c.id]


def list_tasks(session: Session, filters: Filters, principal: Any, settings: Any, now: datetime,
               *, page: int = 1, per_page: int = 50) -> Page:
    if page < 1:
        raise ValidationFailed("page must be 1 or more", field="page")
    if not 1 <= per_page <= 200:
        raise ValidationFailed("per_page must be from 1 to 200", field="per_page")
    where = _where(filters, principal, settings, now)
    owner = _U.alias("owner")
    stmt = (sa.select(_T, _C.c.name.label("customer_name"), _C.c.tier.label("customer_tier"),
                      owner.c.name.label("owner_name"), _R.c.comment.label("comment"))
            .select_from(_T.join(_C, _C.c.id == _T.c.customer_id)
                         .join(_R, _R.c.id == _T.c.response_id)
                         .outerjoin(owner, owner.c.id == _T.c.owner_id))
            .where(*where).order_by(*_order(filters))
            .limit(per_page).offset((page - 1) * per_page))
    items = [dict(row._mapping) for row in session.execute(stmt)]
    total = session.execute(sa.select(sa.func.count()).select_from(_T).where(*where)).scalar() or 0
    return Page(items=items, total=int(total), page=page, per_page=per_page)


def queue_counts(session: Session, principal: Any, settings: Any, now: datetime) -> dict[str, int]:
    """The numbers above the queue: open, overdue, due within SOON, unassigned, mine."""
    mine = _T.c.owner_id == principal.user_id if principal.user_id else sa.false()

    def n(cond: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    stmt = sa.select(sa.func.count(), n(_T.c.next_due_at < now),
                     n(sa.and_(_T.c.next_due_at >= now, _T.c.next_due_at < now + SOON)),
                     n(_T.c.owner_id.is_(None)), n(mine)).where(
        visible_clause(principal, settings), _OPEN)
    total, overdue, soon, unassigned, mine_n = session.execute(stmt).one()
    return {"open": int(total), "overdue": int(overdue), "due_soon": int(soon),
            "unassigned": int(unassigned), "mine": int(mine_n)}


def teams(session: Session) -> list[str]:
    rows = session.execute(sa.select(_U.c.team).where(_U.c.team.is_not(None)).distinct())
    return sorted(r[0] for r in rows)


def assignable_users(session: Session) -> list[User]:
    return list(session.exec(select(User).where(
        User.role.in_([Role.RECOVERY, Role.LEAD]), User.active.is_(True))  # type: ignore[attr-defined]
        .order_by(User.team, User.name)).all())  # type: ignore[arg-type]


# --- One task ------------------------------------------------------------------------------


def task_context(session: Session, task: RecoveryTask) -> dict[str, Any]:
    """Everything the task page and the API detail show: the customer, what they said (all
    answers this task gathered, and earlier ones), the interaction, history, contact attempts."""
    customer = session.get(Customer, task.customer_id)
    linked = session.exec(select(Response).join(
        RecoveryTaskResponse, RecoveryTaskResponse.response_id == Response.id)  # type: ignore[arg-type]
        .where(RecoveryTaskResponse.task_id == task.id)
        .order_by(Response.submitted_at)).all()  # type: ignore[arg-type]
    linked_ids = [r.id for r in linked]
    earlier = session.exec(select(Response).where(
        Response.customer_id == task.customer_id, Response.id.not_in(linked_ids))  # type: ignore[union-attr]
        .order_by(Response.submitted_at.desc()).limit(10)).all()  # type: ignore[attr-defined]
    interaction = session.get(Interaction, task.interaction_id) if task.interaction_id else None
    history = session.exec(select(RecoveryEvent).where(RecoveryEvent.task_id == task.id)
                           .order_by(RecoveryEvent.at, RecoveryEvent.id)).all()  # type: ignore[arg-type]
    attempts = session.exec(select(RecoveryContactAttempt)
                            .where(RecoveryContactAttempt.task_id == task.id)
                            .order_by(RecoveryContactAttempt.at, RecoveryContactAttempt.id)).all()  # type: ignore[arg-type]
    followup = session.get(Invitation, task.followup_invitation_id) if task.followup_invitation_id else None
    followup_response = (session.get(Response, task.followup_response_id)
                         if task.followup_response_id else None)
    return {
        "task": task, "customer": customer, "interaction": interaction,
        "owner": session.get(User, task.owner_id) if task.owner_id else None,
        "responses": list(linked), "earlier": list(earlier),
        "themes": {r.id: response_themes(session, r) for r in linked},
        "history": list(history), "attempts": list(attempts),
        "followup": followup, "followup_response": followup_response,
    }
