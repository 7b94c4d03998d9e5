"""SQL that must be settled by the database itself, on SQLite and PostgreSQL alike.

Races on one row (two answers to one token, two deliveries of one webhook) are decided by a
unique index and `INSERT … ON CONFLICT`, never by a SELECT followed by an INSERT.
"""

from __future__ import annotations

import json
from typing import Any

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
    RETURNING rows (in no particular order — match them by a key).

    On PostgreSQL the rows go as one array per column (`INSERT … SELECT unnest(…)`): a
    multi-row VALUES list costs the driver time per placeholder (thousands for a batch of
    500), and its statement is too long for the driver's cache; arrays are a dozen parameters.
    SQLite gets the multi-row VALUES statement SQLAlchemy batches an executemany into."""
    if not rows:
        return []
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    stmt = dialect_insert(bind, table)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        columns = list(rows[0])
        arrays = []
        for name in columns:
            col, values = table.c[name], [r[name] for r in rows]
            if isinstance(col.type, sa.JSON):  # no json[] adapter needed: text, cast per row
                texts = [None if v is None else json.dumps(v) for v in values]
                arrays.append(sa.cast(sa.func.unnest(sa.bindparam(
                    f"u_{name}", texts, type_=ARRAY(sa.Text))), col.type))
            else:
                arrays.append(sa.func.unnest(sa.cast(sa.bindparam(
                    f"u_{name}", values, type_=ARRAY(col.type)), ARRAY(col.type))))
        stmt = stmt.from_select(columns, sa.select(*arrays))
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
