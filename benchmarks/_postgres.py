"""A throw-away PostgreSQL database for a benchmark run (not a benchmark itself: CI's smoke
loop skips files starting with an underscore)."""

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
    """Yield the URL of a new, empty database (dropped afterwards), or None when the server
    cannot be reached — the caller says it skipped PostgreSQL."""
    server = Settings(database_url=PG).database_url
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
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
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
