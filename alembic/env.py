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
    with engine.begin() as conn:
        _run(conn)


run_migrations_online()
