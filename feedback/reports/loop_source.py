"""The one place reports touch service recovery (feedback.recovery): its metrics and its table.

Everything recovery-specific that the reports need — headline counts for the dashboard tiles,
the closed-loop report, the task CSV — goes through the functions below, so a change in
recovery's tables is fixed here only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from feedback.auth.models import User
from feedback.recovery import metrics
from feedback.recovery.models import DONE, OPEN, RecoveryTask, RecoveryTaskResponse, TaskStatus
from feedback.recovery.service import FOLLOWUP_PURPOSE
from feedback.reports.figures import Filters
from surveys.models import Response
from surveys.scoring import NEGATIVE

T: sa.Table = RecoveryTask.__table__  # type: ignore[attr-defined]
LINK: sa.Table = RecoveryTaskResponse.__table__  # type: ignore[attr-defined]


def _task_where(f: Filters) -> list[Any]:
    """Report filters on tasks: team/agent/kind are on the task, channel/queue on its response."""
    clauses = [T.c[k] == v for k, v in f.dims().items() if k in ("team", "agent", "kind")]
    r = Response.__table__  # type: ignore[attr-defined]
    for k in ("channel", "queue"):
        value = getattr(f, k)
        if value:
            clauses.append(T.c.response_id.in_(sa.select(r.c.id).where(r.c[k] == value)))
    return clauses


def _sla_counts(session: Session, f: Filters, now: datetime) -> tuple[int, int, int, int]:
    """(first contacts met, decided, resolutions met, decided) for tasks opened in the period;
    a deadline is decided once it is met or has passed. The same rules as
    `feedback.recovery.metrics.summarize`, counted in SQL so the tile scales."""
    done = [s.value for s in DONE]
    finished = T.c.status.in_([TaskStatus.RESOLVED.value, TaskStatus.UNREACHABLE.value])

    def flag(cond: Any) -> Any:
        return sa.func.sum(sa.case((cond, 1), else_=0))

    stmt = sa.select(
        flag(T.c.first_contact_at.is_not(None) & (T.c.first_contact_at <= T.c.first_contact_due_at)),
        flag(T.c.first_contact_at.is_not(None) | (T.c.first_contact_due_at <= now)),
        flag(finished & (T.c.resolved_at <= T.c.resolution_due_at)),
        flag(finished | (T.c.status.not_in(done) & (T.c.resolution_due_at <= now))),
    ).where(T.c.opened_at >= f.start, T.c.opened_at < f.end, *_task_where(f))
    fc_ok, fc_due, res_ok, res_due = (int(v or 0) for v in session.execute(stmt).one())
    return fc_ok, fc_due, res_ok, res_due


def headline(session: Session, f: Filters, now: datetime) -> dict[str, Any]:
    """Open tasks now (and how many are past a deadline) and SLA compliance of the period."""
    open_states = [s.value for s in OPEN]
    where = _task_where(f)
    open_n, overdue = session.execute(sa.select(
        sa.func.count(), sa.func.sum(sa.case((T.c.next_due_at < now, 1), else_=0)),
    ).where(T.c.status.in_(open_states), *where)).one()
    fc_met, fc_due, res_met, res_due = _sla_counts(session, f, now)
    p = _sla_counts(session, f.previous(), now)
    # First contact and resolution are reported apart: pooled, a team that calls back at once
    # but never resolves looks as good as one that does both half the time.
    return {"open": int(open_n), "overdue": int(overdue or 0),
            "sla_first_contact": (fc_met, fc_due), "previous_sla_first_contact": (p[0], p[1]),
            "sla_resolution": (res_met, res_due), "previous_sla_resolution": (p[2], p[3])}


def unhappy_accounting(session: Session, f: Filters) -> dict[str, int]:
    """Why unhappy answers and recovery tasks differ in number, by the rules of
    `feedback.recovery.service.on_response`: an unhappy answer opens a task, or joins the task
    already open for the same customer (one open task per customer), or is the customer's
    answer to the follow-up survey after recovery (recorded on its task, opens none); answers
    from before recovery was on have no task. Tasks are also opened by a keyword or theme in
    the comment of an answer that was not unhappy. Same period and filters as the tiles."""
    r = Response.__table__  # type: ignore[attr-defined]
    negative = sorted(c.value for c in NEGATIVE)

    def flag(cond: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

    is_followup = r.c.purpose == FOLLOWUP_PURPOSE
    row = session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(r.c.customer_id)),
                  flag(is_followup),
                  flag(~is_followup & (T.c.response_id == r.c.id)),
                  flag(~is_followup & LINK.c.task_id.is_not(None) & (T.c.response_id != r.c.id)))
        .select_from(r.outerjoin(LINK, LINK.c.response_id == r.c.id)
                     .outerjoin(T, T.c.id == LINK.c.task_id))
        .where(r.c.classification.in_(negative), *f.where(r.c, r.c.submitted_at))).one()
    answers, customers, followups, opened, joined = (int(v or 0) for v in row)
    tasks = int(session.execute(
        sa.select(sa.func.count()).select_from(T)
        .where(T.c.opened_at >= f.start, T.c.opened_at < f.end, *_task_where(f))
    ).scalar() or 0)
    return {"answers": answers, "customers": customers, "opened": opened, "joined": joined,
            "followups": followups, "untracked": answers - opened - joined - followups,
            "tasks": tasks, "other_triggers": max(tasks - opened, 0)}


def report(session: Session, f: Filters, now: datetime, settings: Any) -> dict[str, Any]:
    """The closed-loop report: overall figures, per month, per team and per root cause."""
    period = metrics.Period(f.start, f.end)
    by_month = metrics.loop_metrics(session, period, group_by="month", settings=settings, now=now)
    by_team = metrics.loop_metrics(session, period, group_by="team", settings=settings, now=now)
    by_cause = metrics.loop_metrics(session, period, group_by="root_cause", settings=settings,
                                    now=now)
    # Root causes by how often they occur, the tasks without one last: the list answers
    # "what goes wrong most?", not "what comes first in the alphabet?".
    causes = sorted(by_cause["groups"], key=lambda g: (g["key"] == "(none)", -g["tasks"], g["key"]))
    return {"overall": by_month["overall"], "months": by_month["groups"],
            "teams": by_team["groups"], "root_causes": causes,
            "sla_hours": by_month.get("sla_hours")}


TASK_COLUMNS = (
    "id", "opened_at", "status", "priority", "team", "agent", "kind", "score", "classification",
    "triggers", "first_contact_due_at", "first_contact_at", "reached_at", "resolution_due_at",
    "resolved_at", "first_contact_breached_at", "resolution_breached_at", "outcome",
    "root_cause", "followup_score", "response_id",
)
TASK_HEADER = (*TASK_COLUMNS, "owner")


def task_rows(conn: Connection, f: Filters) -> Iterator[tuple[Any, ...]]:
    """The tasks opened in the period (columns: TASK_HEADER), fetched lazily."""
    u = User.__table__  # type: ignore[attr-defined]
    stmt = (sa.select(*[T.c[c] for c in TASK_COLUMNS], u.c.name.label("owner"))
            .select_from(T.outerjoin(u, u.c.id == T.c.owner_id))
            .where(T.c.opened_at >= f.start, T.c.opened_at < f.end, *_task_where(f))
            .order_by(T.c.opened_at, T.c.id))
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(stmt)
    for row in result:
        values = list(row)
        triggers = values[TASK_COLUMNS.index("triggers")]
        values[TASK_COLUMNS.index("triggers")] = ", ".join(triggers or [])
        yield tuple(values)


def task_url(task_id: int) -> str:
    return f"/queue/{task_id}"


def tasks_for_responses(session: Session, response_ids: list[int]) -> dict[int, int]:
    """response id → id of the recovery task it opened or joined (for links from a response)."""
    if not response_ids:
        return {}
    rows = session.execute(sa.select(LINK.c.response_id, LINK.c.task_id)
                           .where(LINK.c.response_id.in_(response_ids)))
    out = {int(r): int(t) for r, t in rows}
    for r, task in session.execute(sa.select(T.c.response_id, T.c.id)
                                   .where(T.c.response_id.in_(response_ids))):
        out.setdefault(int(r), int(task))
    return out
