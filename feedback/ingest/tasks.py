"""The worker's side of the web CSV import: run the uploaded files, one at a time per worker.

A file is checked (dry run) or imported with the CLI's own functions (`csv_import`), its
progress written to the job row as it goes so the page can show it. On SQLite an import holds
the one write lock until it commits, so its progress cannot be written meanwhile (the page says
"writing"); checks, and imports on PostgreSQL, show it live."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from feedback.ingest import csv_import, repository
from feedback.ingest.models import ImportJob, ImportMode, ImportStatus
from feedback.worker import Job, JobContext

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 1.0


def run_imports(ctx: JobContext) -> int:
    """Every due job, oldest first; returns how many were run."""
    ran = 0
    while (job := repository.claim(ctx.engine, ctx.worker_id, ctx.now())) is not None:
        run_one(ctx, job)
        ran += 1
    return ran


def run_one(ctx: JobContext, job: ImportJob) -> None:
    job_id, name = int(job.id or 0), job.name
    live = job.mode == ImportMode.DRY_RUN or ctx.engine.dialect.name != "sqlite"
    last = [0.0]

    def on_progress(report: csv_import.ImportReport, done: int) -> None:
        if live and time.monotonic() - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = time.monotonic()
            repository.progress(ctx.engine, job_id, ctx.worker_id, ctx.now(), bytes_done=done,
                                **_counts(report))

    with tempfile.TemporaryDirectory(prefix="feedback-import-") as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_bytes(job.content or b"")
        try:
            if job.mode == ImportMode.DRY_RUN:
                report, problems = csv_import.check_file(path, ctx.settings, on_progress=on_progress)
            else:
                report = csv_import.import_file(ctx.engine, ctx.settings, path,
                                                skip_invalid=job.skip_invalid,
                                                schedule=job.schedule, on_progress=on_progress)
                problems = report.errors
        except csv_import.ImportFailed as exc:
            repository.finish(ctx.engine, job_id, ctx.worker_id, ctx.now(),
                              status=ImportStatus.FAILED, problems=exc.errors,
                              error=str(exc).replace(str(path), name), bytes_done=job.size)
            return
        except Exception as exc:  # noqa: BLE001 - the one transaction rolled back: say so, don't retry forever
            log.exception("import job %s stopped", job_id)
            repository.finish(ctx.engine, job_id, ctx.worker_id, ctx.now(),
                              status=ImportStatus.FAILED, problems=[],
                              error=f"the import stopped ({type(exc).__name__}); nothing was "
                                    "imported — upload the file again")
            return
    repository.finish(ctx.engine, job_id, ctx.worker_id, ctx.now(), status=ImportStatus.DONE,
                      problems=problems, bytes_done=job.size, **_counts(report))


def _counts(report: csv_import.ImportReport) -> dict[str, Any]:
    return {"rows": report.rows, "imported": report.imported, "created": report.created,
            "surveys_scheduled": report.surveys_scheduled, "skipped": report.skipped}


JOBS = [Job("ingest.imports", run_imports, seconds=3)]
