"""SQL that must be settled by the database itself, on SQLite and PostgreSQL alike.

Races on one row (two answers to one token, two deliveries of one webhook) are decided by a
unique index and `INSERT … ON CONFLICT`, never by a SELECT followed by an INSERT.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session


def dialect_insert(bind: Session | Connection, table: Any) -> Any:
    """The dialect's own `insert()` (it has `on_conflict_do_nothing/do_update`)."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - we ship SQLite and PostgreSQL only
        raise RuntimeError(f"unsupported database {dialect}")
    return insert(table)


def insert_ignore(bind: Session | Connection, table: sa.Table,
                  values: dict[str, Any] | list[dict[str, Any]], conflict: list[str]) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns how many rows went in."""
    # Counted from RETURNING: psycopg reports rowcount -1 for an INSERT SQLAlchemy executes
    # with its own implicit RETURNING, so rowcount cannot say whether the row went in.
    # A list goes as executemany: SQLAlchemy batches it into multi-row statements it compiles
    # once ("insertmanyvalues"), instead of compiling one statement with every row in it.
    stmt = (dialect_insert(bind, table).on_conflict_do_nothing(index_elements=conflict)
            .returning(table.c[conflict[0]]))
    return len(bind.execute(stmt, values if isinstance(values, list) else [values]).all())


def insert_rows(bind: Session | Connection, table: sa.Table, rows: list[dict[str, Any]], *,
                conflict: list[str] | None = None, returning: tuple[Any, ...] = ()) -> list[Any]:
    """Many rows in one statement, `ON CONFLICT (conflict) DO NOTHING` when given; the
    RETURNING rows (in no particular order — match them by a key). Every row names the same
    columns.

    On PostgreSQL the rows go as one JSON document (`INSERT … SELECT … FROM
    json_to_recordset(…)`): one parameter, encoded by msgspec (timestamps included, in C) and
    parsed by the server. A multi-row VALUES list costs the driver time per placeholder (thousands for a
    batch of 500) and its statement is too long for the driver's cache; one array per column
    (unnest) was better, but psycopg dumps arrays element by element in Python — a third of a
    large import's time went there. SQLite gets the multi-row VALUES statement SQLAlchemy
    batches an executemany into."""
    if not rows:
        return []
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    stmt = dialect_insert(bind, table)
    if dialect == "postgresql":
        columns = list(rows[0])
        _refuse_naive(table, columns, rows)
        doc = _ENCODER.encode(rows).decode()
        source = (sa.func.json_to_recordset(sa.cast(sa.bindparam("rows", doc, type_=sa.Text), sa.JSON))
                  .table_valued(*(sa.column(name, table.c[name].type) for name in columns))
                  .render_derived(name="r", with_types=True))
        stmt = stmt.from_select(columns, sa.select(*source.c))
        params: Any = None
    else:
        params = rows
    if conflict:
        stmt = stmt.on_conflict_do_nothing(index_elements=conflict)
    if returning:
        stmt = stmt.returning(*returning)
        return list(bind.execute(stmt, params).all())
    bind.execute(stmt, params)
    return []


# msgspec, not the json module: json calls back into Python for every timestamp (four per
# invitation row), which was 40 ms of a 2000-row batch's 42 ms of encoding; msgspec writes
# them itself (RFC 3339, which PostgreSQL reads) — the whole batch in under 2 ms.
_ENCODER = msgspec.json.Encoder()


def _refuse_naive(table: sa.Table, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Timestamps are stored as UTC: as the column type's own bind step insists, an instant
    without an offset is refused (msgspec would write it without one)."""
    stamps = [c for c in columns if isinstance(_kind(table.c[c].type), sa.DateTime)]
    for row in rows:
        for name in stamps:
            value = row[name]
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column; pass an aware datetime")


def _kind(type_: Any) -> Any:
    """A column type as the database sees it (a TypeDecorator's own implementation)."""
    return type_.impl_instance if isinstance(type_, sa.TypeDecorator) else type_


def _json_value(value: Any) -> Any:
    """What the json encoder cannot write itself (`one_of`'s keys): timestamps, as in
    `_refuse_naive`."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be sent as a row value")


def one_of(bind: Session | Connection, column: Any, values: list[Any]) -> Any:
    """`column IN (values)` for a batch's worth of keys. On PostgreSQL the keys go as one JSON
    parameter (`IN (SELECT json_array_elements_text(…))`): an expanding IN renders, casts and
    sends a placeholder per key (a thousand for a batch's addresses), and the driver parses
    every one of those statements afresh. Elsewhere the usual IN."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    if dialect != "postgresql":
        return column.in_(values)
    doc = json.dumps(values, default=_json_value, ensure_ascii=False)
    keys = sa.func.json_array_elements_text(sa.cast(sa.bindparam(None, doc, type_=sa.Text), sa.JSON))
    # Text stays text: a cast to the column's VARCHAR(n) would cut a longer key silently, and
    # so match another row; the column's index serves text equality all the same.
    wanted = keys if isinstance(_kind(column.type), sa.String) else sa.cast(keys, column.type)
    return column.in_(sa.select(wanted))
