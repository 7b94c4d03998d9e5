"""CSV import in the web UI (/imports): upload a file, read the dry-run report line by line,
then import it — the same reader, validation and all-or-nothing import as
`feedback import interactions FILE.csv` (feedback/ingest/csv_import.py), called, not copied."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from feedback.auth.permissions import allow
from feedback.deps import Conf, Now
from feedback.ingest import csv_import

MAX_BYTES = 10 * 1024 * 1024  # the request body limit too
MAX_SHOWN = 200  # problems listed on the page (the count is always complete)
Upload = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def _page(**context: Any) -> Template:
    status = context.pop("status", 200)
    base = {"report": None, "problems": [], "error": None, "done": None, "columns": csv_import.COLUMNS}
    return Template(template_name="integrations/imports.html", status_code=status,
                    context={**base, **context})


@get("/imports", sync_to_thread=False, guards=[allow("interaction.import")], include_in_schema=False)
def imports_page() -> Template:
    return _page()


@post("/imports", sync_to_thread=True, guards=[allow("interaction.import")], include_in_schema=False,
      status_code=200, request_max_body_size=MAX_BYTES + 64 * 1024)
def import_form(request: Request[Any, Any, Any], data: Upload, now: Now, settings: Conf) -> Template:
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
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_bytes(raw)
        try:
            _, rows = csv_import.read_rows(path)
            valid, problems = csv_import.validate_rows(rows, settings, now)
            if mode == "dry_run" or (problems and not skip_invalid):
                return _page(report={"rows": len(rows), "valid": len(valid), "bad": len(rows) - len(valid),
                                     "name": upload.filename}, problems=problems[:MAX_SHOWN],
                             more=max(len(problems) - MAX_SHOWN, 0),
                             status=200 if mode == "dry_run" else 422,
                             error=None if mode == "dry_run" else
                             "nothing was imported: fix the rows below, or tick \"skip invalid rows\"")
            # One transaction, committed here in the handler's thread (as the CLI does).
            report = csv_import.import_file(request.app.state.engine, settings, path,
                                            skip_invalid=skip_invalid, schedule=not no_surveys)
        except csv_import.ImportFailed as exc:
            return _page(error=str(exc).replace(str(path), upload.filename or "the file"),
                         problems=exc.errors[:MAX_SHOWN], status=422)
    return _page(done=report.summary(), problems=report.errors[:MAX_SHOWN])


routes = [imports_page, import_form]
