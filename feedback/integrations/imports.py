"""CSV import in the web UI (/imports): upload a file, read the dry-run report line by line,
then import it — the same reader, validation and all-or-nothing import as
`feedback import interactions FILE.csv` (feedback/ingest/csv_import.py), called, not copied.

A small file is handled in the request (an answer in well under a second). A larger one
becomes a job (feedback/ingest/tasks.py) the worker runs, and the browser goes to its page,
which shows the progress and then the report — no request waits on a long import."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from feedback.auth.guards import provide_principal
from feedback.auth.models import Role
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.ingest import csv_import, repository
from feedback.ingest.models import ImportMode
from surveys.errors import NotFound

MAX_BYTES = 10 * 1024 * 1024  # the request body limit too
MAX_SHOWN = repository.MAX_PROBLEMS  # problems listed on the page (the count is complete)
INLINE_MAX_BYTES = 256 * 1024  # larger files go to the worker (about 2,000 rows and up)
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def _page(**context: Any) -> Template:
    status = context.pop("status", 200)
    base: dict[str, Any] = {"report": None, "problems": [], "error": None, "done": None,
                            "columns": csv_import.COLUMNS, "jobs": []}
    return Template(template_name="integrations/imports.html", status_code=status,
                    context={**base, **context})


def _scope(request: Request[Any, Any, Any]) -> tuple[int | None, bool]:
    """Whose jobs the caller sees: an admin every one, others their own (a file's problems
    quote its rows: customer data)."""
    principal = provide_principal(request)
    return principal.user_id, principal.role == Role.ADMIN


@get("/imports", sync_to_thread=True, guards=[allow("interaction.import")], include_in_schema=False)
def imports_page(request: Request[Any, Any, Any], db: Db) -> Template:
    user_id, every = _scope(request)
    return _page(jobs=repository.recent(db, user_id, every=every))


@get("/imports/{job_id:int}", sync_to_thread=True, guards=[allow("interaction.import")],
     include_in_schema=False)
def import_job_page(job_id: int, request: Request[Any, Any, Any], db: Db) -> Template:
    user_id, every = _scope(request)
    job = repository.visible(db, job_id, user_id, every=every)
    if job is None:
        raise NotFound(f"import {job_id} not found", code="unknown_import")
    return Template(template_name="integrations/import_job.html",
                    context={"job": job, "more": max(job.problem_count - len(job.problems), 0),
                             "percent": 100 * job.bytes_done // max(job.size, 1)})


@post("/imports", sync_to_thread=True, guards=[allow("interaction.import")], include_in_schema=False,
      status_code=200, request_max_body_size=MAX_BYTES + 64 * 1024)
def import_form(request: Request[Any, Any, Any], data: Upload, now: Now, settings: Conf,
                db: Db) -> Template | Redirect:
    upload = data.get("file")
    mode = data.get("mode") if data.get("mode") in ("dry_run", "import") else "dry_run"
    skip_invalid = data.get("skip_invalid") == "true"
    no_surveys = data.get("no_surveys") == "true"
    if not isinstance(upload, UploadFile):
        return _page(error="choose a CSV file to upload", status=422)
    raw = upload.file.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        return _page(error="the file is larger than 10 MB: split it, or use `feedback import "
                           "interactions FILE.csv`", status=413)
    name = upload.filename or "the file"
    if len(raw) > INLINE_MAX_BYTES:
        return _queue(request, db, raw, name, now, mode=mode, skip_invalid=skip_invalid,
                      schedule=not no_surveys)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_bytes(raw)
        try:
            if mode == "dry_run":
                checked, problems = csv_import.check_file(path, settings)
                return _page(report={"name": name, "rows": checked.rows, "bad": checked.skipped,
                                     "valid": checked.rows - checked.skipped},
                             **_problems(problems))
            # One transaction, committed here in the handler's thread (as the CLI does).
            report = csv_import.import_file(request.app.state.engine, settings, path,
                                            skip_invalid=skip_invalid, schedule=not no_surveys)
        except csv_import.ImportFailed as exc:
            return _page(error=str(exc).replace(str(path), name), status=422,
                         **_problems(exc.errors))
    return _page(done=report.summary(), **_problems(report.errors))


def _queue(request: Request[Any, Any, Any], db: Db, raw: bytes, name: str, now: Any, *,
           mode: str, skip_invalid: bool, schedule: bool) -> Template | Redirect:
    """A large file: its header checked now (a wrong file is refused at once), the rest by
    the worker; the browser goes to the job's page."""
    try:
        csv_import.open_rows(Path(name), io.BytesIO(raw))
    except csv_import.ImportFailed as exc:
        return _page(error=str(exc), status=422, **_problems(exc.errors))
    user_id, _ = _scope(request)
    job = repository.create(db, name=name, content=raw, mode=ImportMode(mode),
                            skip_invalid=skip_invalid, schedule=schedule, created_by=user_id,
                            now=now)
    return Redirect(f"/imports/{job.id}", status_code=303)


def _problems(problems: list[str]) -> dict[str, Any]:
    return {"problems": problems[:MAX_SHOWN], "more": max(len(problems) - MAX_SHOWN, 0)}


routes = [imports_page, import_job_page, import_form]
