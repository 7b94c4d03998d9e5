"""Event webhook delivery benchmark (issue #19): events/s delivered to a local receiver through
the whole path — `emit` writes outbox rows in the cause's transaction, the worker's delivery
pass claims them (one per subject at a time, for order), re-checks the destination, signs
(Standard Webhooks), POSTs over keep-alive and settles each row with its delivery-log entry —
beside a bare httpx client loop POSTing the same bodies to the same receiver in the same run.

    .venv/bin/python benchmarks/webhooks_bench.py            # 3000 events, 300 subjects
    .venv/bin/python benchmarks/webhooks_bench.py --smoke    # 200 events
Runs on SQLite and, when reachable, PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from benchmarks._pgdb import scratch_database  # noqa: E402
from feedback.app import prepare_database  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.integrations.events import emit  # noqa: E402
from feedback.integrations.models import WebhookEndpoint  # noqa: E402
from feedback.notifications.delivery import deliver_due  # noqa: E402
from feedback.settings import Settings  # noqa: E402

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    outer.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def payload(i: int) -> dict[str, Any]:
    return {"task": {"id": i, "path": f"/queue/{i}", "status": "new", "priority": "normal",
                     "team": "Billing", "score": 3, "kind": "nps"}, "customer_id": i % 97}


def bare(receiver: Receiver, n: int) -> float:
    """The reference: one keep-alive httpx client POSTing n JSON bodies, nothing else."""
    with httpx.Client() as client:
        start = time.perf_counter()
        for i in range(n):
            body = json.dumps({"id": f"evt_{i}", "type": "task.created", "data": payload(i)}).encode()
            client.post(receiver.url, content=body, headers={"Content-Type": "application/json"})
        return n / (time.perf_counter() - start)


def ours(url: str, receiver: Receiver, n: int, subjects: int) -> tuple[float, float]:
    settings = Settings(database_url=url, webhooks_allow_private=True, secret_key="bench" * 8)
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    with transaction(engine) as s:
        s.add(WebhookEndpoint(name="bench", url=receiver.url, event_types=["*"],
                              secret="whsec_" + "QUJD" * 8, created_at=NOW, updated_at=NOW))
    start = time.perf_counter()
    for first in range(0, n, 500):  # causes commit in batches, as requests and jobs do
        with transaction(engine) as s:
            for i in range(first, min(first + 500, n)):
                emit(s, "task.created", f"customer:{i % subjects}", payload(i), NOW)
    emitted = n / (time.perf_counter() - start)
    before = receiver.count
    client = httpx.Client(follow_redirects=False)
    start = time.perf_counter()
    while receiver.count - before < n:
        r = deliver_due(engine, settings, lambda: NOW, worker="bench", client=client, limit=100)
        if r.sent + r.retried + r.failed == 0:
            raise SystemExit(f"stalled: {receiver.count - before} of {n} delivered")
        if r.retried or r.failed:
            raise SystemExit(f"unexpected failures: {r.errors[:3]}")
    rate = n / (time.perf_counter() - start)
    client.close()
    engine.dispose()
    return emitted, rate


def run(name: str, url: str, n: int, subjects: int) -> None:
    receiver = Receiver()
    try:
        reference = bare(receiver, n)
        emitted, delivered = ours(url, receiver, n, subjects)
    finally:
        receiver.close()
    print(f"[{name}] {n} events, {subjects} subjects: emitted {emitted:,.0f}/s; "
          f"delivered {delivered:,.0f}/s vs bare httpx loop {reference:,.0f}/s "
          f"= {delivered / reference:.2f}× the bare client")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--events", type=int, default=3000)
    args = ap.parse_args()
    n = 200 if args.smoke else args.events
    subjects = max(n // 10, 1)
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", n, subjects)
    with scratch_database() as pg:
        if pg:
            run("postgresql", pg, n, subjects)


if __name__ == "__main__":
    main()
