"""Queries of the themes domain that more than one caller reads: the taxonomy with counts,
themes by id, the comments discovery clusters, the latest runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from feedback.insights.models import ResponseTheme, Theme, ThemeDiscoveryRun, ThemeTrainingRun
from feedback.insights.schemas import theme_json
from surveys.errors import NotFound
from surveys.models import Response

Run = TypeVar("Run", ThemeTrainingRun, ThemeDiscoveryRun)


def list_with_counts(session: Session) -> list[dict[str, Any]]:
    """Every theme (accepted first, then proposals; by name) with its number of tagged
    responses, as the API and the taxonomy page show it."""
    counts = dict(session.exec(select(ResponseTheme.theme_id, sa.func.count())  # type: ignore[call-overload]
                               .group_by(col(ResponseTheme.theme_id))).all())
    themes = session.exec(select(Theme).order_by(col(Theme.status), col(Theme.name))).all()
    return [theme_json(t, counts.get(t.id or 0, 0)) for t in themes]


def themes_by_ids(session: Session, ids: Sequence[int]) -> list[Theme]:
    """The themes of `ids` that still exist, by id."""
    if not ids:
        return []
    return list(session.exec(select(Theme).where(col(Theme.id).in_(list(ids)))
                             .order_by(col(Theme.id))))


def newest_comments(since: datetime, limit: int) -> Any:
    """The newest `limit` comments submitted since `since` (a statement)."""
    return (select(Response.comment)
            .where(col(Response.comment).is_not(None), col(Response.submitted_at) >= since)
            .order_by(col(Response.id).desc()).limit(limit))


def latest_training_run(session: Session) -> ThemeTrainingRun | None:
    return session.exec(select(ThemeTrainingRun).order_by(col(ThemeTrainingRun.id).desc())).first()


def latest_discovery_run(session: Session) -> ThemeDiscoveryRun | None:
    return session.exec(select(ThemeDiscoveryRun)
                        .order_by(col(ThemeDiscoveryRun.id).desc())).first()


def pending_run(session: Session, kind: type[Run]) -> Run | None:
    """The oldest run of this kind waiting or under way: a second request returns it instead
    of queueing another."""
    return session.exec(select(kind).where(col(kind.status).in_(("queued", "running")))
                        .order_by(col(kind.id))).first()


def queue_run(session: Session, run: Run) -> Run:
    """Queue `run`, or return the run of its kind already waiting or under way. Two requests
    at once both find none and both insert: the unique index over pending runs lets one in,
    and the other, refused in its savepoint, returns the winner's run."""
    pending = pending_run(session, type(run))
    if pending is not None:
        return pending
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:  # the savepoint's rollback has already let go of `run`
        won = pending_run(session, type(run))
        if won is None:  # it finished in between: queue afresh
            return queue_run(session, type(run)(**run.model_dump(exclude={"id"})))
        return won
    return run


def get_run(session: Session, kind: type[Run], run_id: int) -> Run:
    """A run by id, or the 404 naming it."""
    run = session.get(kind, run_id)
    if run is None:
        what = "training" if kind is ThemeTrainingRun else "discovery"
        raise NotFound(f"{what} run {run_id} not found", code=f"unknown_{what}_run")
    return run
