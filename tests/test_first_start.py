"""README command 1 as a newcomer runs it: `feedback serve --demo` in an empty folder.

One real server process (the installed `feedback` script, a free port, its own SQLite file):
progress while the demo seeds, the banner only once the port answers, one log format with no
message bodies and no scheduler chatter, a queue that reads as a normal day (open tasks mostly
within their SLA) and no escalation flood waiting for the SLA watcher's first run. A second
server on the same port is refused at once, with no banner.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.prism import free_port

FEEDBACK = str(Path(sys.executable).with_name("feedback"))
BANNER = "Feedback is running at"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FEEDBACK_") and k != "DATABASE_URL"}
    env["COLUMNS"] = "80"  # what a default terminal (and a pipe) gives: nothing may wrap
    return env


def _can_connect(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Served:
    def __init__(self, proc: subprocess.Popen[str], port: int, folder: Path) -> None:
        self.proc, self.port, self.folder = proc, port, folder
        self.lines: list[str] = []
        self.connectable_at_banner: bool | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith(BANNER) and self.connectable_at_banner is None:
                self.connectable_at_banner = _can_connect(self.port)
            self._queue.put(line)
        self._queue.put(None)

    def read_until(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("server exited:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} within {timeout} s:\n" + "\n".join(self.lines))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("newcomer")
    port = free_port()
    proc = subprocess.Popen([FEEDBACK, "serve", "--demo", "--port", str(port)], cwd=folder,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, encoding="utf-8")
    server = Served(proc, port, folder)
    try:
        server.read_until(BANNER, timeout=300)
        server.read_until("Press Ctrl+C to stop.", timeout=10)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_progress_while_seeding_then_the_banner_once_the_port_answers(served: Served) -> None:
    banner_at = next(i for i, line in enumerate(served.lines) if line.startswith(BANNER))
    before = "\n".join(served.lines[:banner_at])
    assert "Seeding demo data" in before
    assert "interactions 250/1500" in before and "interactions 1500/1500" in before
    assert "Seeded demo data:" in before
    assert served.connectable_at_banner is True
    banner = served.lines[banner_at:]
    assert any("demo-password" in line for line in banner)
    assert all(len(line) <= 100 for line in banner), banner  # short lines: nothing wraps badly


def test_one_log_format_without_bodies_or_scheduler_chatter(served: Served) -> None:
    served.read_until("dev outbox:", timeout=40)  # the worker's first dispatch sent surveys
    logs = [line for line in served.lines if line.startswith("ts=")]
    assert logs
    text = "\n".join(served.lines)
    assert "INFO:" not in text and "INFO -" not in text  # uvicorn's and Litestar's own formats
    assert "apscheduler" not in text
    assert "/s/" not in text and "Unsubscribe" not in text  # no survey link, no e-mail body


def test_the_queue_reads_as_a_normal_day_and_nothing_floods_at_start(served: Served) -> None:
    engine = sa.create_engine(f"sqlite:///{served.folder / 'var' / 'feedback.sqlite3'}")
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with engine.connect() as conn:
            dues = [row[0] for row in conn.execute(sa.text(
                "SELECT next_due_at FROM recovery_task WHERE status IN "
                "('new', 'assigned', 'contacted')"))]
            pending = conn.execute(sa.text(
                "SELECT count(*) FROM recovery_task WHERE sla_next_at <= :soon"),
                {"soon": now + timedelta(minutes=2)}).scalar_one()
            breaches = conn.execute(sa.text(
                "SELECT count(*) FROM notification WHERE subject LIKE '%SLA breach%' "
                "OR subject LIKE '%due soon%'")).scalar_one()
    finally:
        engine.dispose()
    within = [d for d in dues if datetime.fromisoformat(str(d)) > now]
    assert len(dues) >= 3, dues
    assert len(within) >= 0.6 * len(dues), dues
    assert len(dues) - len(within) >= 1  # a few overdue: the queue shows what that looks like
    # The seeded history's warnings and breaches were handled back then: the SLA watcher's
    # first run finds nothing to e-mail about.
    assert pending == 0
    assert breaches == 0


def test_a_busy_port_is_refused_at_once_without_a_banner(served: Served, tmp_path: Path) -> None:
    done = subprocess.run([FEEDBACK, "serve", "--port", str(served.port)], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "already in use" in done.stderr
    assert BANNER not in done.stdout + done.stderr
    assert not (tmp_path / "var" / "feedback.sqlite3").exists()  # refused before anything else


def test_a_later_start_seeds_a_stale_demo_afresh_unless_it_holds_other_data(tmp_path: Path) -> None:
    from sqlmodel import Session, func, select

    from feedback.app import prepare_database
    from feedback.auth.models import User
    from feedback.db import make_engine
    from feedback.demo import ensure_demo_data
    from feedback.settings import Settings
    from surveys.models import Interaction
    from surveys.types import utcnow

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", demo=True)
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    said: list[str] = []
    assert ensure_demo_data(engine, settings, interactions=60, progress=said.append)
    assert ensure_demo_data(engine, settings, interactions=60, now=utcnow() + timedelta(hours=1)) is None
    # The next morning the history no longer reads as today: seeded afresh, nothing doubled.
    said.clear()
    later = utcnow() + timedelta(hours=20)
    assert ensure_demo_data(engine, settings, interactions=60, now=later, progress=said.append)
    assert any("afresh" in line for line in said), said
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(User)).one() == 5
        assert s.exec(select(func.count()).select_from(Interaction)).one() == 60
        newest = s.exec(select(func.max(Interaction.occurred_at))).one()
        assert later - newest < timedelta(days=1)
        # Someone sent an interaction of their own in: that database is never wiped.
        s.exec(select(Interaction)).first().external_id = "T-1001"  # type: ignore[union-attr]
        s.commit()
    said.clear()
    assert ensure_demo_data(engine, settings, interactions=60, now=later + timedelta(days=2),
                            progress=said.append) is None
    assert any("keeping it" in line for line in said), said
    engine.dispose()


def test_the_readme_api_example_works_when_pasted(served: Served) -> None:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.+?)\n```", readme, re.S)
                 if "/api/interactions" in b)
    script = (block.replace("http://localhost:8000", f"http://127.0.0.1:{served.port}")
              .replace(".venv/bin/feedback", FEEDBACK)
              .replace("curl -X POST", "curl --fail-with-body -sS -X POST"))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                          cwd=served.folder, env=_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"T-1001"' in done.stdout and '"scheduled"' in done.stdout, done.stdout
    assert "expiry" not in done.stdout and "older than" not in done.stdout, done.stdout
