"""Engine, sessions, migrations.

One request or one job is one transaction: `transaction()` commits at the end or rolls back on
error, then runs the callbacks queued with `after_commit` — sending a message never happens
inside a transaction that might still roll back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_DIR = REPO_ROOT / "alembic"
_AFTER_COMMIT = "after_commit_callbacks"
# An arbitrary constant: every process that migrates PostgreSQL takes this advisory lock first,
# so several web processes starting at once apply each migration exactly once.
_MIGRATION_LOCK_ID = 7_320_511


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
            cur = dbapi_conn.cursor()
            # WAL lets the web process read while the worker writes; foreign keys are off by
            # default in SQLite and we rely on them.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


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


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Queue a side effect (a send, a webhook) to run only once the transaction has committed."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_AFTER_COMMIT, [])
    for cb in callbacks:
        try:
            cb()
        except Exception:  # a failed side effect must not turn a committed request into a 500
            log.exception("after-commit callback failed")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(_AFTER_COMMIT, None)
        raise
    finally:
        session.close()
    _run_after_commit(session)
