"""The retraining of the theme model: on a schedule, and the "train now" runs leads ask for
(`theme_training_run` rows, claimed like every job table, so a run is done once); the
"discover themes" runs (`theme_discovery_run`, see discovery_runs); the merge / split
suggestions.

Cheap when nothing changed: the labels are hashed and a version trained on the same labels
already exists, so the job returns without training. Safe with several workers: see
`service.train_now`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from feedback.db import claim_next, transaction
from feedback.insights import discovery_runs, suggestion_store
from feedback.insights.models import ThemeDiscoveryRun, ThemeTrainingRun
from feedback.insights.service import (
    TRAINING_LEASE,
    active_version_id,
    fit,
    plan_training,
    store_version,
)
from feedback.worker import Job, JobContext
from surveys.errors import DomainError

log = logging.getLogger(__name__)


def train_in_steps(ctx: JobContext,
                   progress: Callable[[str], None] | None = None) -> tuple[int, bool] | None:
    """Train a new model version when the labels changed: (its id, whether it went into use),
    or None. Read the labels, train outside any transaction (seconds; minutes with
    embeddings — on SQLite a writing transaction would hold the database's one write lock all
    that time, and answers would wait), then store the version in a short transaction."""
    with transaction(ctx.engine, write=False) as session:
        plan = plan_training(session, min_examples=ctx.settings.themes_min_training_examples,
                             embeddings=ctx.settings.themes_embeddings)
    if plan is None:
        return None
    model = fit(plan, progress)
    with transaction(ctx.engine) as session:
        row = store_version(session, plan, model, now=ctx.now())
        if row is None:
            return None
        return int(row.id or 0), active_version_id(session) == row.id


def retrain(ctx: JobContext) -> int | None:
    """Train a new model version when the labels changed; its id, or None."""
    try:
        trained = train_in_steps(ctx)
    except DomainError as exc:
        log.debug("themes: not retraining: %s", exc.message)
        return None
    if trained is None:
        return None
    log.info("themes: trained model version %s", trained[0])
    return trained[0]


def run_requested(ctx: JobContext) -> int:
    """Every queued "train now" run, oldest first; returns how many were run."""
    ran = 0
    while (run_id := claim_next(ctx.engine, _RUNS, worker=ctx.worker_id, now=ctx.now(),
                                lease=TRAINING_LEASE)) is not None:
        values: dict[str, Any] = {"status": "unchanged"}
        try:
            trained = train_in_steps(ctx, _reporter(ctx, _RUNS, run_id, TRAINING_LEASE))
            if trained is not None:
                values = {"status": "done", "version_id": trained[0], "activated": trained[1]}
        except DomainError as exc:  # e.g. too few labels, or no theme among them
            values = {"status": "failed", "error": exc.message[:1000]}
        except Exception as exc:  # noqa: BLE001 - recorded on the run; its transaction rolled back
            log.exception("themes: training run %s failed", run_id)
            values = {"status": "failed", "error": f"training stopped ({type(exc).__name__})"}
        with ctx.engine.begin() as conn:
            conn.execute(_RUNS.update().where(_RUNS.c.id == run_id, _RUNS.c.worker == ctx.worker_id,
                                              _RUNS.c.status == "running")
                         .values(finished_at=ctx.now(), lease_until=None, stage=None, **values))
        ran += 1
    return ran


def _reporter(ctx: JobContext, table: Any, run_id: int, lease: Any) -> Callable[[str], None]:
    """Record the stage a run is at, for the page that follows it (each in its own short
    transaction; the computation holds none), renewing the run's lease as it goes."""
    def report(stage: str) -> None:
        with ctx.engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == run_id, table.c.worker == ctx.worker_id,
                                              table.c.status == "running")
                         .values(stage=stage, lease_until=ctx.now() + lease))
    return report


def discover_requested(ctx: JobContext) -> int:
    """Every queued "discover themes" run, oldest first; returns how many were run.

    Three steps, so that no lock is held while clustering (seconds on TF-IDF, minutes with
    embeddings; on SQLite a writing transaction holds the database's one write lock): read the
    comments, cluster outside any transaction, then store the proposals and finish the run in
    one short transaction. A worker stopped midway leaves the run to be claimed again when its
    lease runs out, with nothing half-stored; one whose lease was taken over stores nothing."""
    ran = 0
    while (run_id := claim_next(ctx.engine, _DISCOVERY, worker=ctx.worker_id, now=ctx.now(),
                                lease=discovery_runs.DISCOVERY_LEASE)) is not None:
        finish = _DISCOVERY.update().where(_DISCOVERY.c.id == run_id,
                                           _DISCOVERY.c.worker == ctx.worker_id,
                                           _DISCOVERY.c.status == "running")
        with_embeddings = ctx.settings.themes_embeddings
        report = _reporter(ctx, _DISCOVERY, run_id, discovery_runs.DISCOVERY_LEASE)
        try:
            report("reading")
            with transaction(ctx.engine, write=False) as session:
                run = discovery_runs.get_run(session, run_id)
                texts = discovery_runs.comments_of(session, run,
                                                   with_embeddings=with_embeddings)
            report("clustering")
            found = discovery_runs.cluster(texts, k=run.k, with_embeddings=with_embeddings)
            with transaction(ctx.engine) as session:
                created = discovery_runs.store_proposals(session, found, now=ctx.now())
                done = session.connection().execute(finish.values(
                    status="done", finished_at=ctx.now(), lease_until=None, stage=None,
                    n_comments=len(texts), created=[int(t.id or 0) for t, _ in created],
                    sizes=[size for _, size in created],
                    features="embeddings" if with_embeddings else "tfidf"))
                if done.rowcount != 1:
                    raise _LeaseLost
        except _LeaseLost:
            log.warning("themes: discovery run %s was taken over by another worker", run_id)
        except DomainError as exc:  # e.g. too few comments with words
            _finish_failed(ctx, finish, exc.message)
        except Exception as exc:  # noqa: BLE001 - recorded on the run; its transaction rolled back
            log.exception("themes: discovery run %s failed", run_id)
            _finish_failed(ctx, finish, f"discovery stopped ({type(exc).__name__})")
        ran += 1
    return ran


class _LeaseLost(Exception):
    """Another worker claimed the run after this one's lease ran out: roll back, store nothing."""


def _finish_failed(ctx: JobContext, finish: Any, error: str) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(finish.values(status="failed", error=error[:1000], finished_at=ctx.now(),
                                   lease_until=None, stage=None))


def recompute_suggestions(ctx: JobContext) -> bool:
    """Recompute the merge / split suggestions when due (see suggestion_store): the data
    changed and the last run is MIN_INTERVAL old, or a lead asked. True when it stored a new
    result. Idempotent: with nothing changed it reads a fingerprint and writes nothing."""
    with transaction(ctx.engine, write=False) as session:
        current = suggestion_store.fingerprint(session)
    if not suggestion_store.claim(ctx.engine, worker=ctx.worker_id, now=ctx.now(),
                                  current=current):
        return False
    try:
        # Read in a transaction that takes no write lock and is closed before the computation
        # (tens of seconds on a large taxonomy): nobody waits for it.
        with transaction(ctx.engine, write=False) as session:
            current = suggestion_store.fingerprint(session)
            themes, embed = suggestion_store.load(session)
        start = time.perf_counter()
        found, n = suggestion_store.compute(themes, embed)
        seconds = time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - recorded on the row; the last result stays
        log.exception("themes: computing the suggestions failed")
        suggestion_store.store(ctx.engine, worker=ctx.worker_id, now=ctx.now(), current=current,
                               found=None, n_comments=0, seconds=0.0,
                               error=f"computation stopped ({type(exc).__name__})")
        return False
    stored = suggestion_store.store(ctx.engine, worker=ctx.worker_id, now=ctx.now(),
                                    current=current, found=found, n_comments=n, seconds=seconds)
    log.info("themes: suggestions computed from %s comments in %.1f s", n, seconds)
    return stored


_RUNS = ThemeTrainingRun.__table__  # type: ignore[attr-defined]
_DISCOVERY = ThemeDiscoveryRun.__table__  # type: ignore[attr-defined]
JOBS = [Job("insights.retrain", retrain, seconds=6 * 3600),
        Job("insights.train_requested", run_requested, seconds=5),
        Job("insights.discover_requested", discover_requested, seconds=5),
        Job("insights.suggestions", recompute_suggestions,
            seconds=suggestion_store.POLL_SECONDS)]
