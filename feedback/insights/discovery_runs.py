"""Theme discovery as a run the worker does, and the lead's verdict on what it proposes.

Why a run: clustering the last 90 days' comments (up to 50,000) takes seconds on TF-IDF and
minutes with sentence embeddings (`FEEDBACK_THEMES_EMBEDDINGS`), which is too long for a
request and would hold a web thread. A lead asks on the taxonomy page or through
`POST /api/themes/discover`; the worker claims the `theme_discovery_run` row like every job
table, stores each new cluster as a `discovered` theme and records their ids on the run. The
lead then accepts a proposal (it becomes part of the taxonomy the next model is trained on) or
rejects it (it is removed). A proposal does not train the model until it is accepted:
`service.training_examples` reads the seed examples of accepted themes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from feedback.insights import embeddings, repository
from feedback.insights.discovery import Discovery, discover
from feedback.insights.models import ResponseTheme, Theme, ThemeDiscoveryRun, ThemeStatus
from feedback.insights.service import create_theme, get_theme
from surveys.errors import Conflict, ValidationFailed

DISCOVERY_LEASE = timedelta(minutes=30)  # longer than any run (embeddings: minutes)
MAX_COMMENTS = 50_000  # the newest comments of the period; more adds time, not themes
# With sentence embeddings every distinct comment goes through a transformer (40–70 comments/s
# on 2 cores): 10,000 is a few minutes, well inside the lease; 50,000 would be up to 20.
MAX_COMMENTS_EMBEDDINGS = 10_000
MIN_COMMENTS = 4  # discovery's own minimum (comments with words)


def request_discovery(session: Session, *, by: str, now: datetime, days: int = 90,
                      k: int | None = None) -> ThemeDiscoveryRun:
    """Queue a discovery run over the comments of the last `days` days (checked now: with
    fewer than MIN_COMMENTS comments it is a 422 at once). A run already waiting or under way
    is returned instead of a second one."""
    if k is not None and k < 2:
        raise ValidationFailed("k must be at least 2", field="k")
    since = now - timedelta(days=days)
    have = session.exec(select(sa.func.count()).select_from(  # type: ignore[call-overload]
        repository.newest_comments(since, MIN_COMMENTS).subquery())).one()
    if have < MIN_COMMENTS:
        raise ValidationFailed(f"too few comments in the last {days} days to discover themes "
                               f"(have {have}, need {MIN_COMMENTS} or more)", field="days")
    return repository.queue_run(session, ThemeDiscoveryRun(requested_by=by[:320],
                                                            requested_at=now, days=days, k=k))


def get_run(session: Session, run_id: int) -> ThemeDiscoveryRun:
    return repository.get_run(session, ThemeDiscoveryRun, run_id)


def comments_of(session: Session, run: ThemeDiscoveryRun, *,
                with_embeddings: bool = False) -> list[str]:
    """The comments a run clusters: the newest MAX_COMMENTS (MAX_COMMENTS_EMBEDDINGS with
    sentence embeddings) of its `days` before the request."""
    since = run.requested_at - timedelta(days=run.days)
    limit = MAX_COMMENTS_EMBEDDINGS if with_embeddings else MAX_COMMENTS
    return [t for t in session.exec(repository.newest_comments(since, limit)) if t and t.strip()]


def cluster(texts: Sequence[str], *, k: int | None, with_embeddings: bool) -> Discovery:
    """Discovery itself: CPU only, outside any transaction (see tasks.discover_requested)."""
    return discover(texts, k=k, embed=embeddings.encode if with_embeddings else None)


def store_proposals(session: Session, found: Discovery, *,
                    now: datetime) -> list[tuple[Theme, int]]:
    """Each cluster whose label is not a theme's name yet becomes a `discovered` theme; the
    new themes with the number of comments in their cluster."""
    existing = set(session.exec(select(Theme.name)).all())
    created = []
    for c in found.clusters:
        name = c.label.replace(":", " ")
        if name in existing:
            continue
        existing.add(name)
        created.append((create_theme(session, name=name, now=now, keywords=c.keywords,
                                     examples=c.examples, status=ThemeStatus.DISCOVERED), c.size))
    return created


def reject(session: Session, theme_id: int) -> str:
    """Remove a proposal a lead does not want; its name. Only a `discovered` theme that no
    response is tagged with: an accepted theme, or one a person has used, is merged instead
    (its links move, nothing is lost)."""
    theme = get_theme(session, theme_id)
    if theme.status != ThemeStatus.DISCOVERED:
        raise Conflict(f"theme {theme.name!r} is accepted: merge it into another theme instead "
                       "of removing it", field="theme_id")
    tagged = session.exec(select(sa.func.count()).where(  # type: ignore[call-overload]
        ResponseTheme.theme_id == theme_id)).one()
    if tagged:
        raise Conflict(f"theme {theme.name!r} is on {tagged} responses: merge it into another "
                       "theme instead of removing it", field="theme_id")
    # Conditional, so that two rejects at once (or an accept or a tag meanwhile) are settled
    # by the database: the loser removes nothing and is told so, instead of an ORM delete
    # failing on a row that is gone.
    gone = session.execute(sa.delete(Theme).where(
        col(Theme.id) == theme_id, col(Theme.status) == ThemeStatus.DISCOVERED,
        ~sa.exists().where(col(ResponseTheme.theme_id) == theme_id))).rowcount  # type: ignore[attr-defined]
    if gone != 1:
        raise Conflict(f"theme {theme.name!r} was accepted, tagged or removed meanwhile: reload "
                       "the taxonomy", field="theme_id")
    session.expunge(theme)
    return theme.name
