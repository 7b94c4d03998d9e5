"""SQL that must be settled by the database itself, on SQLite and PostgreSQL alike.

Races on one row (two answers to one token, two deliveries of one webhook) are decided by a
unique index and `INSERT … ON CONFLICT`, never by a SELECT followed by an INSERT.
"""

from __future__ import annotations

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
