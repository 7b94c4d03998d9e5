"""`feedback import interactions FILE.csv`: bulk history with a row-numbered error report.

Streamed in one pass (see `import_file`): a file with a bad row imports nothing (unless
--skip-invalid) and the report lists every bad row at once, by its line number in the file.
"""

from __future__ import annotations

import csv
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from feedback.db import planned_afresh, transaction
from feedback.ingest.batch import ingest_batch
from feedback.ingest.schemas import OPERATION_FIELDS, InteractionIn
from feedback.ingest.service import pydantic_errors
from feedback.settings import Settings
from surveys.types import utcnow

CUSTOMER_COLUMNS = ("external_id", "name", "email", "phone", "locale", "time_zone", "tier")
COLUMNS = ("external_id", "channel", "occurred_at", "agent", "team", "queue", "survey",
           "survey_channel", *OPERATION_FIELDS, *(f"customer_{c}" for c in CUSTOMER_COLUMNS))
REQUIRED = ("external_id", "channel", "occurred_at")
META_PREFIX = "meta_"
# Rows per ingest batch. Larger than an API request's: a file's batches share one transaction,
# and each statement's fixed cost (planned afresh on PostgreSQL, see `planned_afresh`) is then
# spread over more rows — 2000 imported a third faster than 500 on PostgreSQL (20k rows,
# measured twice); memory stays bounded (at most three batches held).
BATCH = 2000
# Called after each batch with the report so far and the bytes of the file read.
OnProgress = Callable[["ImportReport", int], None]


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


class _Lines:
    """The file's lines, decoded one at a time (bounded memory), counting the bytes read so
    progress can be shown from the first line. A byte that is not UTF-8 stops the import."""

    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle, self.path, self.bytes = handle, path, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self.handle.readline()
        if not raw:
            raise StopIteration
        start, self.bytes = self.bytes, self.bytes + len(raw)
        if start == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            start += 3
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFailed(f"{self.path} is not UTF-8 (byte {start + exc.start}): save it as "
                               "UTF-8 CSV; nothing was imported") from exc


def open_rows(path: Path, handle: BinaryIO) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header (checked) and an iterator of (line number, record), read as it goes."""
    # strict: an unterminated quote is an error, not a field that swallows the rest of the file
    reader = csv.DictReader(_Lines(handle, path), strict=True)
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

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        while True:
            start = reader.line_num + 1  # a quoted value may span lines: name the row's first
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFailed(f"line {start}: {_csv_problem(exc)}; nothing was imported") from exc
            if None in record:
                raise ImportFailed(f"line {reader.line_num}: more values than columns")
            yield start, record

    return header, records()


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text or "EOF" in text:
        return "a quoted value is never closed (unterminated quote)"
    return f"not valid CSV ({text})"


_TOP = frozenset(k for k in COLUMNS if not k.startswith("customer_"))
_CUSTOMER = {f"customer_{c}": c for c in CUSTOMER_COLUMNS}


def row_to_payload(record: dict[str, str]) -> dict[str, Any]:
    """The row as the API's JSON: blank values left out, except the customer's (all seven,
    None when blank). One pass over the row's own columns, not over every known column (a
    third of the reading thread's time went to looking up columns the file does not have)."""
    payload: dict[str, Any] = {}
    customer: dict[str, Any] = dict.fromkeys(CUSTOMER_COLUMNS)
    meta: dict[str, str] = {}
    for key, raw in record.items():
        if key.startswith(META_PREFIX):
            if raw:
                meta[key[len(META_PREFIX):]] = raw
            continue
        value = (raw or "").strip()
        if not value:
            continue
        if key in _TOP:
            payload[key] = value
        elif key in _CUSTOMER:
            customer[_CUSTOMER[key]] = value
    payload["customer"] = customer
    if meta:
        payload["metadata"] = meta
    return payload


def validate_row(line: int, record: dict[str, str], ctx: dict[str, Any],
                 errors: list[str]) -> InteractionIn | None:
    try:
        return InteractionIn.model_validate(row_to_payload(record), context=ctx)
    except ValidationError as exc:
        for err in pydantic_errors(exc):
            column = err["field"].replace("customer.", "customer_")
            errors.append(f"line {line}: {column}: {err['message']}")
        return None


def import_file(engine: Engine, settings: Settings, path: Path, *, skip_invalid: bool = False,
                schedule: bool = True, console: Any = None,
                on_progress: OnProgress | None = None) -> ImportReport:
    """One pass over the file: each row is validated and the valid ones are written in batches
    of BATCH as it goes (memory stays flat however long the file). One transaction for the
    whole file: at the first bad row (without --skip-invalid) writing stops, the rest is only
    checked so every problem is reported, and the transaction is rolled back — nothing lands.

    Reading and validating (CPU) run in a helper thread, a couple of batches ahead of the
    writes (mostly waiting on the database): the two overlap. The transaction stays in this
    thread, start to commit."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        _, rows = open_rows(path, handle)
        progress = Progress(console, path, on_progress)
        report = ImportReport()
        problems: list[str] = []
        reader = _Reader(rows, settings, report, problems, skip_invalid=skip_invalid,
                         schedule=schedule)
        with transaction(engine) as session:
            try:
                with planned_afresh(session):  # the file's tables grow within this transaction
                    for batch in reader.batches():
                        if skip_invalid or not problems:
                            _write(session, batch, report, settings)
                        progress.update(report, handle.tell())  # the file object's own lock makes this safe
            finally:
                reader.stop()
            if report.rows == 0:
                raise ImportFailed(f"{path} has a header but no rows")
            if problems and not skip_invalid:
                raise ImportFailed(
                    f"{len(problems)} problem(s) in {report.skipped} of {report.rows} rows; "
                    "nothing was imported (fix them, or pass --skip-invalid to import the valid "
                    "rows)", problems)
            progress.done(report)
    report.errors = problems
    return report


def check_file(path: Path, settings: Settings, *,
               on_progress: OnProgress | None = None) -> tuple[ImportReport, list[str]]:
    """The dry run: every row checked by the import's own reader and validation; nothing is
    written. `report.skipped` counts the rows with problems."""
    report, problems = ImportReport(), []
    ctx = {"phone_region": settings.default_phone_region, "now": utcnow()}
    with path.open("rb") as handle:
        _, records = open_rows(path, handle)
        progress = Progress(None, path, on_progress)
        for line, record in records:
            report.rows += 1
            report.skipped += validate_row(line, record, ctx, problems) is None
            if report.rows % BATCH == 0:
                progress.update(report, handle.tell())
    if report.rows == 0:
        raise ImportFailed(f"{path} has a header but no rows")
    return report, problems


class _Reader:
    """Reads and validates rows in a thread, handing over batches (at most two waiting)."""

    def __init__(self, rows: Iterator[tuple[int, dict[str, str]]], settings: Settings,
                 report: ImportReport, problems: list[str], *, skip_invalid: bool,
                 schedule: bool) -> None:
        self.rows, self.report, self.problems = rows, report, problems
        self.skip_invalid, self.schedule = skip_invalid, schedule
        self.ctx = {"phone_region": settings.default_phone_region, "now": utcnow()}
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="csv-import-reader", daemon=True)

    def batches(self) -> Iterator[dict[str, InteractionIn]]:
        self.thread.start()
        while True:
            got = self.queue.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            yield got

    def stop(self) -> None:
        self.stopped.set()

    def _put(self, value: Any) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            batch: dict[str, InteractionIn] = {}
            for line, record in self.rows:
                self.report.rows += 1
                item = validate_row(line, record, self.ctx, self.problems)
                if item is None:
                    self.report.skipped += 1
                    if not self.skip_invalid:  # nothing more is written: the import is refused
                        batch.clear()
                elif self.skip_invalid or not self.problems:
                    if not self.schedule:
                        item.survey_channel = "none"
                    if item.external_id in batch:  # a later row updates it, as row by row
                        if not self._put(batch):
                            return
                        batch = {}
                    batch[item.external_id] = item
                if len(batch) >= BATCH or (not batch and self.report.rows % BATCH == 0):
                    if not self._put(batch):
                        return
                    batch = {}
            if batch and not self._put(batch):
                return
            self._put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread, raised there
            self._put(exc)


def _write(session: Any, batch: dict[str, InteractionIn], report: ImportReport,
           settings: Settings) -> None:
    if not batch:
        return
    for result in ingest_batch(session, list(batch.values()), now=utcnow(), settings=settings):
        report.imported += 1
        report.created += int(result.created)
        report.surveys_scheduled += int(result.invitation is not None and result.created)
    batch.clear()


class Progress:
    """A bar on a terminal; elsewhere (a log, a pipe) a plain line every few seconds; and
    `on_progress` (the web import's job row) after every batch. Measured in bytes of the file,
    so it moves from the first line without counting the rows first."""

    EVERY_SECONDS = 5.0

    def __init__(self, console: Any, path: Path, on_progress: OnProgress | None = None) -> None:
        self.console, self.total = console, max(path.stat().st_size, 1)
        self.on_progress = on_progress
        self.bar: Any = None
        self.last = time.monotonic()
        if console is None:
            return
        if console.is_terminal:
            from rich.progress import Progress as Bar

            self.bar = Bar(console=console, transient=True)
            self.task = self.bar.add_task("importing", total=self.total)
            self.bar.start()
        else:
            console.print(f"importing {path.name} ({self.total / 1e6:.1f} MB)", soft_wrap=True)

    def update(self, report: ImportReport, done: int) -> None:
        if self.on_progress is not None:
            self.on_progress(report, done)
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
        elif self.console is not None and time.monotonic() - self.last >= self.EVERY_SECONDS:
            self.last = time.monotonic()
            self.console.print(f"{100 * done // self.total}%: {report.rows} rows read, "
                               f"{report.imported} written", soft_wrap=True)

    def done(self, report: ImportReport) -> None:
        if self.bar is not None:
            self.bar.stop()
