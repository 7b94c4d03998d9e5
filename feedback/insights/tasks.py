"""The retraining of the theme model: on a schedule, and the "train now" runs leads ask for
(`theme_training_run` rows, claimed like every job table, so a run is done once).

Cheap when nothing changed: the labels are hashed and a version trained on the same labels
already exists, so the job returns without training. Safe with several workers: see
`service.train_now`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from feedback.db import claim_next, transaction
from feedback.insights import suggestion_store
from feedback.insights.models import ThemeTrainingRun
from feedback.insights.service import TRAINING_LEASE, active_version_id, train_now
from feedback.worker import Job, JobContext
from surveys.errors import DomainError

log = logging.getLogger(__name__)


def retrain(ctx: JobContext) -> int | None:
    """Train a new model version when the labels changed; its id, or None."""
    with transaction(ctx.engine) as session:
        try:
            row = train_now(session, now=ctx.now(),
                            min_examples=ctx.settings.themes_min_training_examples,
                            embeddings=ctx.settings.themes_embeddings)
        except DomainError as exc:
            log.debug("themes: not retraining: %s", exc.message)
            return None
        if row is None:
            return None
        log.info("themes: trained model version %s on %s comments", row.id, row.n_examples)
        return row.id


def run_requested(ctx: JobContext) -> int:
    """Every queued "train now" run, oldest first; returns how many were run."""
    ran = 0
    while (run_id := claim_next(ctx.engine, _RUNS, worker=ctx.worker_id, now=ctx.now(),
                                lease=TRAINING_LEASE)) is not None:
        values: dict[str, Any] = {"status": "unchanged"}
        try:
            with transaction(ctx.engine) as session:
                row = train_now(session, now=ctx.now(),
                                min_examples=ctx.settings.themes_min_training_examples,
                                embeddings=ctx.settings.themes_embeddings)
                if row is not None:
                    values = {"status": "done", "version_id": row.id,
                              "activated": active_version_id(session) == row.id}
        except DomainError as exc:  # e.g. too few labels, or no theme among them
            values = {"status": "failed", "error": exc.message[:1000]}
        except Exception as exc:  # noqa: BLE001 - recorded on the run; its transaction rolled back
            log.exception("themes: training run %s failed", run_id)
            values = {"status": "failed", "error": f"training stopped ({type(exc).__name__})"}
        with ctx.engine.begin() as conn:
            conn.execute(_RUNS.update().where(_RUNS.c.id == run_id, _RUNS.c.worker == ctx.worker_id,
                                              _RUNS.c.status == "running")
                         .values(finished_at=ctx.now(), lease_until=None, **values))
        ran += 1
    return ran


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
JOBS = [Job("insights.retrain", retrain, seconds=6 * 3600),
        Job("insights.train_requested", run_requested, seconds=5),
        Job("insights.suggestions", recompute_suggestions,
            seconds=suggestion_store.POLL_SECONDS)]
