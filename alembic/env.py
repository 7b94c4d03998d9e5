"""Alembic environment: uses the engine/connection handed over by feedback.db.migrate, or builds
one from FEEDBACK_DATABASE_URL / DATABASE_URL when run as the plain `alembic` command."""

from __future__ import annotations

from alembic import context

from feedback.tables import metadata

config = context.config
target_metadata = metadata()


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Render our UTC column type as the plain SQL type it is, so migrations do not import app code.
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__name__ == "AutoString":
        return f"sa.String(length={obj.length})" if getattr(obj, "length", None) else "sa.String()"
    return False


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        render_item=_render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = config.attributes.get("engine")
    if engine is None:
        from feedback.db import make_engine
        from feedback.settings import Settings

        engine = make_engine(Settings().database_url)
    with engine.connect() as conn:
        # SQLite changes a column by copying the table and dropping the old one ("batch"
        # mode); with foreign keys enforced, dropping a table that other rows point at fails,
        # so every upgrade of a database with data would. The switch only works outside a
        # transaction, hence on the driver's connection before BEGIN; the copy keeps the ids,
        # and foreign_key_check afterwards proves every reference still holds.
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                _run(conn)
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
