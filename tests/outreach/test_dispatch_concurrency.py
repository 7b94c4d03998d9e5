"""Several workers on one database: each invitation is sent exactly once, even when two race
for the same rows or one is SIGKILLed between the provider accepting a message and the settle."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from outreach.devoutbox import DevOutboxStore
from surveys.models import Invitation
from surveys.types import utcnow
from tests.factories import make_invitation
from tests.outreach.conftest import outbox
from tests.outreach.crashing_worker import dispatcher

ROOT = Path(__file__).resolve().parents[2]


def _invitations(session, settings, count: int) -> list[Invitation]:  # type: ignore[no-untyped-def]
    now = utcnow()
    return [make_invitation(session, settings, now, n=n, customer={"phone": f"+1415555{n:04d}"})
            for n in range(count)]


def _all(engine) -> list[Invitation]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(Invitation)).all())


def test_two_workers_racing_send_each_invitation_exactly_once(session, settings, engine) -> None:
    invitations = _invitations(session, settings, 60)
    store = DevOutboxStore(engine, utcnow)
    workers = [dispatcher(store, f"racer-{i}") for i in range(2)]
    handled: dict[str, int] = collections.Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(2)  # on a loaded machine one thread could otherwise finish first

    def run(worker) -> None:  # type: ignore[no-untyped-def]
        try:
            start.wait(timeout=30)
            while True:
                counts = worker.run_once().counts
                if not counts:
                    return
                handled[worker.worker] += counts.get("sent", 0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    markers = collections.Counter(m.marker for m in outbox(engine))
    assert set(markers) == {i.token for i in invitations}
    assert set(markers.values()) == {1}
    assert {i.status for i in _all(engine)} == {"sent"}
    assert sum(handled.values()) == 60
    if engine.dialect.name == "postgresql":
        assert all(handled.values()), handled  # SKIP LOCKED: both really worked


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
        session, settings, engine) -> None:
    invitations = _invitations(session, settings, 12)
    url = engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen([sys.executable, "-m", "tests.outreach.crashing_worker", url],
                            cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 60
        while len(outbox(engine)) < 3:
            assert time.monotonic() < deadline, "the worker never sent anything"
            time.sleep(0.05)
        time.sleep(0.1)  # most likely inside the pause after a send, before its settle
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    interrupted = [i for i in _all(engine) if i.status == "sending"]
    assert interrupted, "the kill should leave claimed rows behind"
    time.sleep(1.1)  # the dead worker's lease runs out
    survivor = dispatcher(DevOutboxStore(engine, utcnow), "survivor")
    while survivor.run_once().counts:
        pass
    markers = collections.Counter(m.marker for m in outbox(engine))
    assert set(markers) == {i.token for i in invitations}
    assert set(markers.values()) == {1}, "an invitation was sent twice"
    rows = _all(engine)
    assert {i.status for i in rows} == {"sent"}
    assert any(i.status_reason == "already_sent" for i in rows)  # found, not resent
