"""Engine, sessions, migrations.

One request or one job is one transaction, committed (or rolled back) by `finish()` in the very
thread that did the work. v1 left the commit to a dependency's teardown, which Litestar runs on
another pool thread: with every pool thread blocked on a row lock held by a finished-but-
uncommitted request, nothing was left to commit it and the process froze for good.

Nothing is sent from inside a transaction: after-commit work is a row in the durable outbox
(`feedback.notifications`), written in the same transaction and run by the worker.

SQLite runs in a truly transactional mode (SQLAlchemy's pysqlite recipe): the driver's own
transaction handling is switched off and BEGIN is emitted with the first statement, so a request
is one transaction and a SAVEPOINT is only a savepoint (in the driver's default mode the RELEASE
of the first savepoint committed on its own). A transaction that will write starts with
BEGIN IMMEDIATE: it waits for the write lock up front (busy_timeout), instead of failing with
"database is locked" when it upgrades a read snapshot that another writer has moved past.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_DIR = REPO_ROOT / "alembic"
# An arbitrary constant: every process that migrates PostgreSQL takes this advisory lock first,
# so several web processes starting at once apply each migration exactly once.
_MIGRATION_LOCK_ID = 7_320_511
SQLITE_BEGIN = "feedback_sqlite_begin"  # execution option: DEFERRED, IMMEDIATE or None
# How long one statement may wait for a row lock on PostgreSQL before it gives up.
LOCK_TIMEOUT_MS = 10_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # The driver must not open or commit transactions behind our back (see the module
            # docstring); the "begin" listener below emits BEGIN instead.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL lets the web process read while the worker writes; foreign keys are off by
            # default in SQLite and we rely on them.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # IMMEDIATE unless the unit of work said it only reads (`readonly`, `new_session`).
            mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
            if mode:  # None: statement by statement (a test's view of what others committed)
                conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # Up to 40 connections: as many as the web process has threads for sync handlers, so a
    # request never waits for a connection that a thread blocked behind it holds. A lock wait
    # longer than `lock_timeout` fails the statement (answered 503, retry later) instead of
    # holding a thread and a connection indefinitely.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 30)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("options", f"-c lock_timeout={LOCK_TIMEOUT_MS}")
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    cfg = alembic_config(sa.create_engine("sqlite://"))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def migrate(engine: Engine, target: str = "head") -> None:
    """Apply every migration. Safe to call from several processes at once."""
    from alembic import command

    cfg = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # DDL may wait behind long reads while the process starts: no lock timeout here.
            conn.execute(sa.text("SET lock_timeout = 0"))
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
            try:
                conn.commit()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, target)
                conn.commit()
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_ID})
                conn.commit()
    else:
        command.upgrade(cfg, target)


class SchemaOutOfDate(RuntimeError):
    pass


def check_schema(engine: Engine) -> None:
    current, heads = current_revisions(engine), head_revisions()
    if current != heads:
        raise SchemaOutOfDate(
            f"database schema is at {sorted(current) or 'nothing'} but this version needs "
            f"{sorted(heads)}: run `feedback migrate` (or start with FEEDBACK_AUTO_MIGRATE=true)"
        )


def readonly(engine: Engine) -> Engine:
    """The same engine for work that only reads: on SQLite its transactions take no write lock
    (BEGIN DEFERRED), so a long report or export never holds up answers. Elsewhere a no-op."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def new_session(engine: Engine, *, write: bool = True) -> Session:
    """A session for one unit of work; nothing is connected until the first statement."""
    return Session(engine if write else readonly(engine), expire_on_commit=False)


@contextmanager
def finish(session: Session) -> Iterator[Session]:
    """Commit when the block succeeds, roll back when it fails; close either way. Runs in the
    caller's thread — that is the point (see the module docstring)."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def transaction(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """One job's or one command's transaction."""
    with finish(new_session(engine, write=write)) as session:
        yield session


@contextmanager
def planned_afresh(session: Session) -> Iterator[None]:
    """Within the block, PostgreSQL plans every statement of this session's connection for the
    tables as they are now: no server-side prepared statements.

    For a transaction that grows a table a lot (a CSV import is one transaction for the whole
    file). psycopg prepares a statement it has run five times, and the server may then keep
    one generic plan for it — chosen while the table was nearly empty (a sequential scan) and
    kept while the import grows it, since nothing re-plans within the transaction. The import's
    customer look-up went quadratic: 0.1 s per 10k rows at first, 8 s by 40k. Planning each
    statement of a 500-row batch costs far less than that. A no-op on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    driver = session.connection().connection.driver_connection
    was = driver.prepare_threshold  # type: ignore[union-attr]
    driver.prepare_threshold = None  # type: ignore[union-attr]
    try:
        yield
    finally:  # the connection goes back to the pool as it came
        driver.prepare_threshold = was  # type: ignore[union-attr]


def claim_next(engine: Engine, table: sa.Table, *, worker: str, now: datetime,
               lease: timedelta, **values: Any) -> int | None:
    """Take the oldest due row of a job table (`status`, `worker`, `lease_until`, `started_at`
    columns): a queued one, or a running one whose worker stopped renewing its lease. A
    conditional UPDATE, so two workers never take one row; None when nothing is due (or another
    worker took it between the two statements: the next run looks again)."""
    t = table.c
    due = sa.or_(t.status == "queued", sa.and_(t.status == "running", t.lease_until < now))
    with engine.begin() as conn:
        row_id = conn.execute(sa.select(t.id).where(due).order_by(t.id).limit(1)).scalar()
        if row_id is None:
            return None
        won = conn.execute(table.update().where(t.id == row_id, due).values(
            status="running", worker=worker[:100], lease_until=now + lease, started_at=now,
            **values)).rowcount
    return int(row_id) if won == 1 else None
