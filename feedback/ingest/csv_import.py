"""`feedback import interactions FILE.csv`: bulk history with a row-numbered error report.

Two passes: every row is validated first, so a file with a bad row imports nothing (unless
--skip-invalid) and the report lists every bad row at once, by its line number in the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from feedback.db import transaction
from feedback.ingest.schemas import OPERATION_FIELDS, InteractionIn
from feedback.ingest.service import ingest_one, pydantic_errors
from feedback.settings import Settings
from surveys.types import utcnow

CUSTOMER_COLUMNS = ("external_id", "name", "email", "phone", "locale", "time_zone", "tier")
COLUMNS = ("external_id", "channel", "occurred_at", "agent", "team", "queue", "survey",
           "survey_channel", *OPERATION_FIELDS, *(f"customer_{c}" for c in CUSTOMER_COLUMNS))
REQUIRED = ("external_id", "channel", "occurred_at")
META_PREFIX = "meta_"
BATCH = 500


class ImportFailed(Exception):
    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    created: int = 0
    surveys_scheduled: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.rows} rows: {self.imported} imported ({self.created} new), "
                f"{self.surveys_scheduled} surveys scheduled, {self.skipped} skipped")


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path} is not UTF-8 (byte {exc.start}): save it as UTF-8 CSV") from exc
    # strict: an unterminated quote is an error, not a field that swallows the rest of the file
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise ImportFailed(f"line 1: {_csv_problem(exc)}") from exc
    header = [h.strip() for h in (fieldnames or [])]
    if not header:
        raise ImportFailed(f"{path} is empty: it needs a header row and at least one row")
    reader.fieldnames = header
    unknown = [h for h in header if h not in COLUMNS and not h.startswith(META_PREFIX)]
    if unknown:
        raise ImportFailed(
            f"unknown column(s): {', '.join(unknown)}",
            [f"allowed: {', '.join(COLUMNS)}, or {META_PREFIX}<name> for metadata"])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFailed(f"missing required column(s): {', '.join(missing)}")
    rows = []
    while True:
        start = reader.line_num + 1  # a quoted value may span lines: name the row's first
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportFailed(f"line {start}: {_csv_problem(exc)}; nothing was imported") from exc
        if None in record:
            raise ImportFailed(f"line {reader.line_num}: more values than columns")
        rows.append((start, record))
    if not rows:
        raise ImportFailed(f"{path} has a header but no rows")
    return header, rows


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text or "EOF" in text:
        return "a quoted value is never closed (unterminated quote)"
    return f"not valid CSV ({text})"


def row_to_payload(record: dict[str, str]) -> dict[str, Any]:
    def val(key: str) -> str | None:
        v = (record.get(key) or "").strip()
        return v or None

    payload: dict[str, Any] = {k: val(k) for k in COLUMNS if not k.startswith("customer_")}
    payload["customer"] = {c: val(f"customer_{c}") for c in CUSTOMER_COLUMNS}
    meta = {k[len(META_PREFIX):]: v for k, v in record.items() if k.startswith(META_PREFIX) and v}
    payload["metadata"] = meta or None
    return {k: v for k, v in payload.items() if v is not None}


def validate_rows(rows: list[tuple[int, dict[str, str]]], settings: Settings,
                  now: datetime | None = None) -> tuple[list[InteractionIn], list[str]]:
    ctx = {"phone_region": settings.default_phone_region, "now": now or utcnow()}
    valid, errors = [], []
    for line, record in rows:
        try:
            valid.append(InteractionIn.model_validate(row_to_payload(record), context=ctx))
        except ValidationError as exc:
            for err in pydantic_errors(exc):
                column = err["field"].replace("customer.", "customer_")
                errors.append(f"line {line}: {column}: {err['message']}")
    return valid, errors


def import_file(engine: Engine, settings: Settings, path: Path, *, skip_invalid: bool = False,
                schedule: bool = True, console: Any = None) -> ImportReport:
    _, rows = read_rows(path)
    valid, errors = validate_rows(rows, settings)
    report = ImportReport(rows=len(rows), errors=errors, skipped=len(rows) - len(valid))
    if errors and not skip_invalid:
        raise ImportFailed(
            f"{len(errors)} problem(s) in {report.skipped} of {len(rows)} rows; nothing was "
            "imported (fix them, or pass --skip-invalid to import the valid rows)", errors)
    if not schedule:
        for item in valid:
            item.survey_channel = "none"
    progress = _progress(console, len(valid))
    # One transaction for the whole file: an import either lands completely or not at all.
    with transaction(engine) as session:
        for i, item in enumerate(valid, 1):
            result = ingest_one(session, item, now=utcnow(), settings=settings)
            report.imported += 1
            report.created += int(result.created)
            report.surveys_scheduled += int(result.invitation is not None and result.created)
            if i % BATCH == 0:
                session.flush()
                session.expunge_all()  # keep memory flat on big files
                if progress:
                    progress(BATCH)
        if progress:
            progress(len(valid) % BATCH)
    return report


def _progress(console: Any, total: int) -> Any:
    if console is None:
        return None
    from rich.progress import Progress

    bar = Progress(console=console, transient=True)
    task = bar.add_task("importing", total=total)
    bar.start()

    def advance(n: int) -> None:
        bar.advance(task, n)
        if bar.finished:
            bar.stop()

    return advance
