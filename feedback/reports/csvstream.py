"""Streaming CSV export that is safe to open in a spreadsheet.

Exports can be large (every response of a year), so rows are pulled lazily from the iterable
and written in batches: memory stays bounded by one batch and the HTTP layer can stream the
chunks as they come. Batching matters because yielding one tiny chunk per row makes the
response ~10x slower on ASGI servers.

Formula injection: free text (comments, agent names, customer names) is attacker-controlled,
and a cell such as `=HYPERLINK(...)` or `@SUM(...)` is executed by Excel/LibreOffice/Sheets.
Following the OWASP advice, text cells starting with = + - @ tab CR or LF get a leading `'`,
which spreadsheets display as text. Real numbers are left alone: an int/float cell is never
touched, and a text cell is left alone when it is a plain number such as "-40", because
"-40" cannot run anything and analysts need it to stay numeric.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum

log = logging.getLogger(__name__)
BOM = "\ufeff".encode()

# Full-width variants too: Excel in East Asian locales treats "＝1+1" as a formula.
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(text: str) -> str:
    """Prefix `'` to a text cell a spreadsheet would evaluate as a formula."""
    # Leading spaces are skipped before the check because some importers strip them and then
    # evaluate what follows (" =1+1").
    head = text.lstrip(" ")
    if not head or head[0] not in _FORMULA_START:
        return text
    if _PLAIN_NUMBER.fullmatch(head.rstrip(" ")):
        return text
    return "'" + text


def format_cell(value: object) -> str:
    """One cell as text: None -> "", ISO 8601 dates, numbers verbatim, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    # NaN/inf are not numbers a spreadsheet understands; an empty cell is the honest value.
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        value = value.value
        if not isinstance(value, str):
            return format_cell(value)
    return neutralise(str(value))


def iter_csv(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    bom: bool = False,
    rows_per_chunk: int = 1000,
) -> Iterator[bytes]:
    """Yield the CSV (header first) as UTF-8 byte chunks of up to `rows_per_chunk` rows.

    `bom=True` prepends a UTF-8 byte-order mark, which Excel on Windows needs to read non-ASCII
    text (accented names, emoji in comments) correctly; other tools ignore or strip it.
    Lines end in CRLF as RFC 4180 specifies. Always yields at least the header chunk.
    """
    if rows_per_chunk < 1:
        raise ValueError("rows_per_chunk must be at least 1")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    # Column names may come from user-defined survey questions, so they are neutralised too.
    writer.writerow([format_cell(h) for h in header])
    prefix = BOM if bom else b""
    pending = 0
    for row in rows:
        writer.writerow([format_cell(v) for v in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield prefix + buffer.getvalue().encode("utf-8")
            prefix = b""
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    tail = buffer.getvalue()
    if tail or prefix:
        yield prefix + tail.encode("utf-8")


def primed(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """Start a download only once it is known to work, and never let a failed one look whole.

    The first chunk is produced here, in the request handler, before any byte is sent: the
    filters have been used, the query is open and the first batch read, so a failure up to
    that point is an ordinary error response. A failure after streaming began cannot change
    the status any more; it is logged and re-raised, and the server aborts the connection
    without the final chunk, so the client sees an incomplete transfer (curl exit 18,
    httpx RemoteProtocolError, a browser's "failed" download) instead of a well-formed CSV
    that silently lacks rows.
    """
    first = next(chunks)

    def stream() -> Iterator[bytes]:
        sent = len(first)
        yield first
        try:
            for chunk in chunks:
                yield chunk
                sent += len(chunk)
        except Exception:
            log.exception("CSV export %r failed after %d bytes; aborting the download so the "
                          "client cannot mistake the partial file for a complete one", name, sent)
            raise

    return stream()
