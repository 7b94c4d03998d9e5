"""Issue #10: `feedback worker` survives a database blip at start-up (retry with backoff) and
fails with one clear error when the database stays away."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from feedback import app as app_module
from feedback.db import make_engine
from feedback.worker import WorkerStartFailed, prepare_with_retry
from tests.support.prism import free_port


def test_a_blip_during_start_up_is_retried_with_backoff(engine: Any, settings: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first attempt dies as under `pg_terminate_backend` / a restart: a real driver error
    from a server that is not there; the next attempt reaches the real database."""
    real = app_module.prepare_database
    dead = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"
                       "?connect_timeout=2")
    calls: list[int] = []

    def flaky(settings: Any, target: Any) -> None:
        calls.append(1)
        real(settings, dead if len(calls) < 3 else target)

    monkeypatch.setattr(app_module, "prepare_database", flaky)
    sleeps: list[float] = []
    prepare_with_retry(settings, engine, sleep=sleeps.append)
    assert len(calls) == 3 and sleeps == [0.5, 1.0]
    with engine.connect() as conn:  # and the schema is there
        assert conn.execute(sa.text("SELECT count(*) FROM survey_definition")).scalar_one() >= 1
    dead.dispose()


def test_a_database_that_stays_away_is_one_clear_error(settings: Any) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x?connect_timeout=2"
    dead = make_engine(url)
    sleeps: list[float] = []
    with pytest.raises(WorkerStartFailed, match="unreachable after 4 attempts"):
        prepare_with_retry(settings.model_copy(update={"database_url": url}), dead, attempts=4,
                           sleep=sleeps.append)
    assert sleeps == [0.5, 1.0, 2.0]
    dead.dispose()


def test_cli_worker_exits_1_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from feedback import worker
    from feedback.cli import app

    def gone(settings: Any) -> None:
        raise WorkerStartFailed("the database is unreachable after 6 attempts: refused")

    monkeypatch.setattr(worker, "run_worker", gone)
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 1
    assert "cannot start the worker" in result.output and "unreachable" in result.output
