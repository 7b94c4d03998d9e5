"""The schema exists only through Alembic: from empty to head and back, on both engines, and the
models never drift from the migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from feedback.db import current_revisions, head_revisions, make_engine, migrate
from feedback.tables import metadata


def _fresh_engine(db_url: str, tmp_path):  # type: ignore[no-untyped-def]
    if db_url.startswith("sqlite"):
        return make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    url = sa.engine.make_url(db_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"{url.database}_fresh"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_engine(url.set(database=name).render_as_string(hide_password=False))


def test_upgrade_from_empty_then_downgrade_to_base(db_url, tmp_path):  # type: ignore[no-untyped-def]
    from alembic import command

    from feedback.db import alembic_config

    engine = _fresh_engine(db_url, tmp_path)
    assert current_revisions(engine) == set()
    migrate(engine)
    assert current_revisions(engine) == head_revisions()
    tables = set(sa.inspect(engine).get_table_names())
    assert {"customer", "interaction", "invitation", "response", "survey_definition"} <= tables
    migrate(engine)  # idempotent: a second process starting finds nothing to do
    command.downgrade(alembic_config(engine), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_models_match_migrations(migrated_engine):  # type: ignore[no-untyped-def]
    with migrated_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, metadata())
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_history_is_linear():  # type: ignore[no-untyped-def]
    # `alembic upgrade head` (what every Alembic user types) needs exactly one head.
    assert len(head_revisions()) == 1
