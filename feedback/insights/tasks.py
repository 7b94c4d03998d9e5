"""The scheduled retraining of the theme model.

Cheap when nothing changed: the labels are hashed and a version trained on the same labels
already exists, so the job returns without training. Safe with several workers: see
`service.train_now`.
"""

from __future__ import annotations

import logging

from feedback.db import transaction
from feedback.insights.service import train_now
from feedback.worker import Job, JobContext
from surveys.errors import ValidationFailed

log = logging.getLogger(__name__)


def retrain(ctx: JobContext) -> int | None:
    """Train a new model version when the labels changed; its id, or None."""
    with transaction(ctx.engine) as session:
        try:
            row = train_now(session, now=ctx.now(),
                            min_examples=ctx.settings.themes_min_training_examples)
        except ValidationFailed as exc:
            log.debug("themes: not retraining: %s", exc.message)
            return None
        if row is None:
            return None
        log.info("themes: trained model version %s on %s comments", row.id, row.n_examples)
        return row.id


JOBS = [Job("insights.retrain", retrain, seconds=6 * 3600)]
