"""Streamed CSV exports of raw rows: responses (with their themes) and recovery tasks.

A year of responses can be millions of rows, so nothing is collected: a server-side cursor
(PostgreSQL; SQLite steps its cursor lazily anyway) hands over `BATCH` rows at a time, the
themes of one batch are looked up together, and `csvstream.iter_csv` turns each batch into one
chunk for the HTTP stream. Memory is bounded by one batch whatever the size of the export.

The export owns its connection for as long as the download runs (a request's transaction is
over before the body is streamed), and closes it when the stream ends or the client goes away.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feedback.db import readonly
from feedback.reports import loop_source, themes_source
from feedback.reports.csvstream import iter_csv
from feedback.reports.figures import Filters
from surveys.models import Response

BATCH = 2000
R = Response.__table__  # type: ignore[attr-defined]
RESPONSE_COLUMNS = ("id", "submitted_at", "kind", "score", "classification", "comment", "team",
                    "agent", "channel", "queue", "source", "locale", "customer_id",
                    "interaction_id", "invitation_id")


def _response_rows(engine: Engine, f: Filters) -> Iterator[tuple[Any, ...]]:
    stmt = (sa.select(*[R.c[c] for c in RESPONSE_COLUMNS])
            .where(*f.where(R.c, R.c.submitted_at))
            .order_by(R.c.submitted_at, R.c.id))
    with readonly(engine).connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
        for batch in result.partitions():
            themes = themes_source.themes_for_responses(conn, [row.id for row in batch])
            for row in batch:
                yield (*row, "; ".join(themes.get(row.id, ())))


def responses_csv(engine: Engine, f: Filters) -> Iterator[bytes]:
    return iter_csv([*RESPONSE_COLUMNS, "themes"], _response_rows(engine, f), bom=True,
                    rows_per_chunk=BATCH)


def _task_rows(engine: Engine, f: Filters) -> Iterator[tuple[Any, ...]]:
    with readonly(engine).connect() as conn:
        yield from loop_source.task_rows(conn, f)


def tasks_csv(engine: Engine, f: Filters) -> Iterator[bytes]:
    """The recovery tasks opened in the period."""
    return iter_csv(list(loop_source.TASK_HEADER), _task_rows(engine, f), bom=True,
                    rows_per_chunk=BATCH)
