"""Root fixtures.

Every test that touches the database runs once per engine: SQLite (a fresh file) and
PostgreSQL (a fresh database created for this test session on the server named by
FEEDBACK_TEST_POSTGRES_URL, default the local server). When PostgreSQL cannot be reached the
PostgreSQL variants are skipped — except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

pytest_plugins = [
    "tests.support.prism",
    "tests.support.smtp",
    "tests.support.browser",
    "tests.support.receiver",
]

IN_CI = os.environ.get("CI", "").lower() == "true"
# Passwords: a cheap scrypt cost for tests (the default, 2^17, takes a good part of a second per
# hash). Every Settings() made in a test reads it, and so does create_app.
os.environ["FEEDBACK_PASSWORD_SCRYPT_LOG_N"] = "8"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_admin_url() -> str:
    url = os.environ.get("FEEDBACK_TEST_POSTGRES_URL")
    if not url:
        env = os.environ.get("DATABASE_URL", "")
        url = env if env.startswith("postgres") else DEFAULT_PG
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


def pytest_configure(config: Any) -> None:
    from feedback.auth.service import configure_password_hashing

    configure_password_hashing(8)


def pytest_report_header(config: Any) -> str:
    return f"postgres for tests: {make_url(_pg_admin_url()).render_as_string(hide_password=True)}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session."""
    admin_url = _pg_admin_url()
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"feedback_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        message = f"PostgreSQL not reachable at {admin_url}: {exc.__class__.__name__}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture(scope="session")
def migrated_engine(db_url: str) -> Iterator[Engine]:
    from feedback.db import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _truncate(engine: Engine) -> None:
    from feedback.tables import metadata

    tables = [t.name for t in reversed(metadata().sorted_tables)]  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(sa.text(f'DELETE FROM "{t}"'))


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    """A migrated database emptied before each test."""
    _truncate(migrated_engine)
    from feedback.db import transaction
    from surveys.service import ensure_builtin_surveys

    with transaction(migrated_engine) as session:
        ensure_builtin_surveys(session)
    yield migrated_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """The test's own view of the database. On SQLite it runs statement by statement (no
    BEGIN), so like PostgreSQL's read committed each read sees what the app has committed
    since; the app itself always runs in real transactions (feedback.db)."""
    from feedback.db import SQLITE_BEGIN

    with Session(engine.execution_options(**{SQLITE_BEGIN: None}), expire_on_commit=False) as s:
        yield s


class Clock:
    """A settable clock handed to the app, so time rules are tested without sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        from datetime import timedelta

        self.now = self.now + timedelta(**kw)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Any:
    from feedback.settings import Settings

    return Settings(database_url=db_url, secret_key="test-secret-key-0123456789",
                    public_url="http://testserver.local", admin_api_key="test-admin-key",
                    auto_migrate=True)


@pytest.fixture
def app(settings: Any, engine: Engine, clock: Clock) -> Any:
    from feedback.app import create_app

    return create_app(settings, engine=engine, clock=clock)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from litestar.testing import TestClient

    with TestClient(app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
def api(client: Any) -> Any:
    client.headers["Authorization"] = "Bearer test-admin-key"
    return client
