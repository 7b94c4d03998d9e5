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
    base: dict[str, Any] = {"report": None, "problems": [], "error": None, "done": None, "columns": csv_import.COLUMNS}
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
    name = upload.filename or "the file"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_bytes(raw)
        try:
            if mode == "dry_run":
                summary, problems = _dry_run(path, settings, now, name)
                return _page(report=summary, **_problems(problems))
            # One transaction, committed here in the handler's thread (as the CLI does).
            report = csv_import.import_file(request.app.state.engine, settings, path,
                                            skip_invalid=skip_invalid, schedule=not no_surveys)
        except csv_import.ImportFailed as exc:
            return _page(error=str(exc).replace(str(path), name), status=422,
                         **_problems(exc.errors))
    return _page(done=report.summary(), **_problems(report.errors))


def _problems(problems: list[str]) -> dict[str, Any]:
    return {"problems": problems[:MAX_SHOWN], "more": max(len(problems) - MAX_SHOWN, 0)}


def _dry_run(path: Path, settings: Any, now: Any, name: str) -> tuple[dict[str, Any], list[str]]:
    """Every row checked by the import's own reader and validation; nothing is written."""
    problems: list[str] = []
    rows = valid = 0
    ctx = {"phone_region": settings.default_phone_region, "now": now}
    with path.open("rb") as handle:
        _, records = csv_import.open_rows(path, handle)
        for line, record in records:
            rows += 1
            valid += csv_import.validate_row(line, record, ctx, problems) is not None
    if rows == 0:
        raise csv_import.ImportFailed(f"{path} has a header but no rows")
    return {"rows": rows, "valid": valid, "bad": rows - valid, "name": name}, problems


routes = [imports_page, import_form]
