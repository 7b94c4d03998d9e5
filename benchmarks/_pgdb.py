"""A throw-away PostgreSQL database for a benchmark run, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from feedback.settings import Settings

PG = os.environ.get("FEEDBACK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_database() -> Iterator[str | None]:
    """The URL of a fresh database on the benchmark server, or None (with a note printed) when
    the server cannot be reached."""
    admin = sa.create_engine(Settings(database_url=PG).database_url, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        print(f"[postgresql] skipped: {exc}")
        admin.dispose()
        yield None
        return
    try:
        yield (sa.engine.make_url(Settings(database_url=PG).database_url).set(database=name)
               .render_as_string(hide_password=False))
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
