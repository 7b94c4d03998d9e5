"""Merge / split suggestions computed by the worker and stored; pages and the API only read them.

Why: one computation runs discovery within every theme; on an NHS-sized taxonomy that is ~23 s
of CPU, which must never run inside a web request. The worker's `insights.suggestions` job
(tasks.py) recomputes when the tagged data changed — the fingerprint: the themes, a summary of
the response-theme links, the model version in use — but not more often than MIN_INTERVAL, and
at its next poll when a lead pressed "recompute now" (status `queued`).

The one row of `theme_suggestion_result` is also the claim: a conditional UPDATE takes it
(status running, this worker, a lease), so two workers never compute at once and a worker that
died gives it back when the lease runs out. Comments are not copied into the stored document,
only response ids: the example comments are read by id when the page is shown, so an erased or
redacted comment never lingers in the suggestions.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from feedback.insights import suggestions
from feedback.insights.embeddings import encode
from feedback.insights.model import ModelFileError
from feedback.insights.models import ResponseTheme, Theme, ThemeSuggestionDismissal
from feedback.insights.models import ThemeSuggestionResult as Result
from feedback.insights.service import active_version_id, current_model
from surveys.models import Response
from surveys.sql import dialect_insert

ROW = 1
POLL_SECONDS = 60  # how often the worker looks (a fingerprint: a few cheap queries)
MIN_INTERVAL = timedelta(minutes=5)  # automatic recomputes at most this often
LEASE = timedelta(minutes=15)  # far longer than a computation (NHS: ~23 s)
# "Not computed yet: the worker computes it within N minutes": one poll plus a computation.
WITHIN_MINUTES = 2
STALE_MINUTES = math.ceil((MIN_INTERVAL.total_seconds() + 2 * POLL_SECONDS) / 60)
_T = Result.__table__  # type: ignore[attr-defined]


def fingerprint(session: Session) -> str:
    """A cheap summary of what the suggestions are computed from: it changes when a theme is
    added, renamed or removed, when a link is added, removed or moved to another theme (merge,
    split, correction, tagging), when the mentions' sentiments change (a merge keeps a link and
    may give it the other's sentiment; tones decide which merges are offered), and when another
    model version goes into use (embeddings)."""
    themes = session.exec(select(Theme.id, Theme.name).order_by(col(Theme.id))).all()

    def tone(value: str) -> Any:
        return sa.func.sum(sa.case((ResponseTheme.sentiment == value, ResponseTheme.theme_id),
                                   else_=0))

    links = session.exec(select(sa.func.count(), sa.func.max(ResponseTheme.id),
                                sa.func.sum(ResponseTheme.theme_id),
                                sa.func.max(ResponseTheme.created_at),
                                tone("positive"), tone("negative"))).one()
    raw = json.dumps([active_version_id(session), [[i, n] for i, n in themes],
                      [str(x) for x in links]])
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


Embed = Callable[[Sequence[str]], np.ndarray]


def load(session: Session) -> tuple[list[suggestions.ThemeComments], Embed | None]:
    """What a computation reads: every theme's newest tagged comments, and the embedding
    function when the model in use is trained with embeddings (else themes are compared in
    TF-IDF)."""
    embed = None
    try:
        loaded = current_model(session)
    except ModelFileError:  # a damaged model file: TF-IDF still works
        loaded = None
    if loaded is not None and loaded[1].embedding is not None:
        embed = partial(encode, name=loaded[1].embedding)  # the model's own encoding
    return suggestions.theme_comments(session), embed


def compute(themes: Sequence[suggestions.ThemeComments],
            embed: Embed | None) -> tuple[suggestions.Suggestions, int]:
    """The suggestions (no dismissals applied) and how many distinct comments were compared.
    Heavy: the worker's job calls it, never a request."""
    n = len({rid for t in themes for rid, _ in t.comments})
    return suggestions.suggest(themes, embed), n


# --- the stored document ---------------------------------------------------------------------


def to_document(found: suggestions.Suggestions) -> dict[str, Any]:
    """JSON of the suggestions with their evidence; comment texts left out (ids kept)."""
    doc = asdict(found)
    for merge in doc["merges"]:
        if merge["similarity"] != merge["similarity"]:  # NaN (not compared): JSON has no NaN
            merge["similarity"] = None
    for split in doc["splits"]:
        for part in split["parts"]:
            part["examples"] = []
    return doc


def from_document(doc: dict[str, Any]) -> suggestions.Suggestions:
    def merge(m: dict[str, Any]) -> suggestions.Merge:
        return suggestions.Merge(**{**m, "similarity": math.nan if m["similarity"] is None
                                    else m["similarity"]})

    return suggestions.Suggestions(
        merges=[merge(m) for m in doc["merges"]],
        splits=[suggestions.Split(**{**s, "parts": [suggestions.Part(**p) for p in s["parts"]]})
                for s in doc["splits"]],
        too_small=[(name, n) for name, n in doc["too_small"]], compared=doc["compared"],
        space=doc["space"])


# --- what the page and the API read ------------------------------------------------------------


@dataclass
class Stored:
    found: suggestions.Suggestions | None  # None: not computed yet
    status: str  # idle · queued · running
    stale: bool  # the taxonomy or its tags changed since (or a lead asked): recomputing
    computed_at: datetime | None
    seconds: float | None
    n_comments: int
    gone: int  # stored suggestions left out because a theme in them no longer exists
    error: str | None = None  # the last computation failed (the previous result is kept)
    within_minutes: int = WITHIN_MINUTES
    # Stale: recomputed at most MIN_INTERVAL after the last start, plus one poll.
    stale_minutes: int = STALE_MINUTES


def read(session: Session) -> Stored:
    """The stored suggestions a lead has not dismissed, for the current taxonomy: suggestions
    about a theme that no longer exists are left out, the example comments are read by id.
    Costs a few indexed queries, whatever the taxonomy's size; never computes."""
    row = session.get(Result, ROW)
    if row is None or row.document is None:
        status = row.status if row is not None else "idle"
        return Stored(None, status, True, None, None, 0, 0,
                      error=row.error if row is not None else None)
    found = from_document(row.document)
    stale = row.status in ("queued", "running") or row.fingerprint != fingerprint(session)
    themes = set(session.exec(select(Theme.id)).all())
    gone = set(session.exec(select(ThemeSuggestionDismissal.key)).all())
    before = len(found.merges) + len(found.splits)
    found.merges = [m for m in found.merges if m.key not in gone]
    found.splits = [s for s in found.splits if s.key not in gone]
    found.dismissed = before - len(found.merges) - len(found.splits)
    live_merges = [m for m in found.merges if {m.source_id, m.into_id} <= themes]
    live_splits = [s for s in found.splits if s.theme_id in themes]
    outdated = len(found.merges) + len(found.splits) - len(live_merges) - len(live_splits)
    found.merges, found.splits = live_merges, live_splits
    ids = [i for s in found.splits for p in s.parts for i in p.example_ids]
    text = dict(session.exec(select(Response.id, Response.comment)  # type: ignore[call-overload]
                             .where(col(Response.id).in_(ids))).all()) if ids else {}
    for s in found.splits:
        for p in s.parts:
            p.examples = [t for i in p.example_ids if (t := text.get(i))]
    return Stored(found, row.status, stale, row.computed_at, row.seconds, row.n_comments,
                  outdated, error=row.error)


# --- the job and "recompute now" ---------------------------------------------------------------


def _ensure_row(conn: Any) -> None:
    conn.execute(dialect_insert(conn, _T).values(id=ROW, status="idle", n_comments=0)
                 .on_conflict_do_nothing(index_elements=["id"]))


def request_recompute(session: Session, *, by: str, now: datetime) -> str:
    """A lead's "recompute now": the worker computes at its next poll, whatever the interval.
    Asked while a computation runs: that one finishes, then the row is queued again (see
    `store`). Idempotent: asking twice queues once. Returns the row's status."""
    stmt = dialect_insert(session, _T).values(id=ROW, status="queued", n_comments=0,
                                              requested_by=by[:320], requested_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
        "requested_by": by[:320], "requested_at": now,
        "status": sa.case((_T.c.status == "running", "running"), else_="queued")}))
    return str(session.exec(select(Result.status).where(Result.id == ROW)).one())


def claim(engine: Engine, *, worker: str, now: datetime, current: str) -> bool:
    """Take the computation when it is due: asked for, abandoned (lease over), or the data
    changed (`current` fingerprint differs) and the last start is MIN_INTERVAL old. One
    conditional UPDATE: of two workers only one sees its row count be 1."""
    t = _T.c
    due = sa.or_(t.status == "queued",
                 sa.and_(t.status == "running", t.lease_until < now),
                 sa.and_(t.status == "idle", t.fingerprint.is_distinct_from(current),
                         sa.or_(t.started_at.is_(None), t.started_at <= now - MIN_INTERVAL)))
    with engine.begin() as conn:
        _ensure_row(conn)
        won = conn.execute(_T.update().where(t.id == ROW, due).values(
            status="running", worker=worker[:100], lease_until=now + LEASE,
            started_at=now)).rowcount
    return won == 1


def store(engine: Engine, *, worker: str, now: datetime, current: str,
          found: suggestions.Suggestions | None, n_comments: int, seconds: float,
          error: str | None = None) -> bool:
    """Write the result while this worker still holds the claim (a worker whose lease was taken
    over writes nothing). A lead's request that came in during the run queues the next one."""
    t = _T.c
    values: dict[str, Any] = {
        "worker": None, "lease_until": None, "error": error,
        "status": sa.case((sa.and_(t.requested_at.is_not(None), t.requested_at > t.started_at),
                           "queued"), else_="idle")}
    if found is not None:
        values.update(document=to_document(found), fingerprint=current, computed_at=now,
                      seconds=round(seconds, 3), n_comments=n_comments)
    with engine.begin() as conn:
        done = conn.execute(_T.update().where(t.id == ROW, t.worker == worker[:100],
                                              t.status == "running").values(**values)).rowcount
    return done == 1
