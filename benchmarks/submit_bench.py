"""Survey-submit benchmark (issue #10): answers under 50 concurrent clients, real HTTP.

`feedback serve` runs in its own process on a scratch database; 50 clients POST answers to
/s/{token}:
  1. spread: every request answers a different survey (throughput, p50/p95);
  2. storm: 100 requests answer ONE survey at once (v1 froze here for good: the whole web
     process hung once the storm outnumbered the sync thread pool) — one answer kept, every
     other request a quick 409/303, and an unrelated staff request timed meanwhile.
Beside it, in the same run, a bare Litestar app doing only the essential SQL of an answer
(benchmarks/_bare_submit.py) gives the reference rate: the product's figure is printed as a ratio.

    .venv/bin/python benchmarks/submit_bench.py            # 3000 answers per phase
    .venv/bin/python benchmarks/submit_bench.py --smoke    # 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks._pgdb import scratch_database  # noqa: E402
from feedback.app import prepare_database  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.ingest.service import ingest_one, parse_payload  # noqa: E402
from feedback.settings import Settings  # noqa: E402

ADMIN_KEY = "bench-admin-key"
CLIENTS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, n: int) -> list[str]:
    settings = Settings(database_url=url, secret_key="bench" * 8, dispatch_delay_minutes=0)
    engine = make_engine(url)
    prepare_database(settings, engine)
    now = datetime.now(UTC)
    tokens: list[str] = []
    with transaction(engine) as s:
        for start in range(0, n, 500):
            items = parse_payload({"interactions": [
                {"external_id": f"B-{i}", "channel": "chat",
                 "occurred_at": (now - timedelta(minutes=5)).isoformat(), "team": "Billing",
                 "customer": {"external_id": f"BC-{i}", "email": f"c{i}@example.com"}}
                for i in range(start, min(n, start + 500))]}, settings)
            for item in items:
                tokens.append(ingest_one(s, item, now=now, settings=settings).invitation.token)  # type: ignore[union-attr]
    engine.dispose()
    return tokens


class Server:
    def __init__(self, url: str, args: list[str]) -> None:
        self.port = _free_port()
        env = {**os.environ, "FEEDBACK_DATABASE_URL": url, "FEEDBACK_ADMIN_API_KEY": ADMIN_KEY,
               "FEEDBACK_SECRET_KEY": "bench" * 8, "FEEDBACK_AUTO_MIGRATE": "true"}
        # A file, not a pipe: nobody reads the log while the server runs, and a full pipe
        # (64 KiB of request log lines) would block the server mid-benchmark.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen([*args, "--port", str(self.port)], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(f"{self.base}/s/-", timeout=1)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    raise RuntimeError(f"server did not start: {self.log.read()!r}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def _run(base: str, targets: list[str], clients: int, timeout: float
               ) -> tuple[float, list[float], dict[int, int]]:
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for i, token in enumerate(targets):
        queue.put_nowait((i, token))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as http:
            while not queue.empty():
                i, token = queue.get_nowait()
                started = time.perf_counter()
                try:
                    r = await http.post(f"/s/{token}", data={"score": str(i % 11), "src": "web"})
                    status = r.status_code
                except httpx.TimeoutException:
                    status = 0  # no answer within the timeout: the process is stuck
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, statuses


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0


def bench_engine(label: str, url: str, n: int) -> None:
    tokens = seed(url, n + 200)
    spread, storm_token, bare_tokens = tokens[:n // 2], tokens[n // 2], tokens[n // 2 + 1:n + 1]
    product = Server(url, [sys.executable, "-m", "feedback", "serve"])
    try:
        took, lat, st = asyncio.run(_run(product.base, spread, CLIENTS, 60))
        rate = len(spread) / took
        print(f"[{label}] product  spread: {rate:7.1f} answers/s  p50 {p(lat, 50):6.1f} ms  "
              f"p95 {p(lat, 95):6.1f} ms  statuses {st}")

        async def storm() -> tuple[tuple[float, list[float], dict[int, int]], float]:
            async with httpx.AsyncClient(base_url=product.base, timeout=30,
                                         headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as staff:
                task = asyncio.create_task(_run(product.base, [storm_token] * 100, 100, 30))
                await asyncio.sleep(0.05)
                started = time.perf_counter()
                await staff.get("/api/kpis")
                staff_s = time.perf_counter() - started
                return await task, staff_s

        (took, lat, st), staff_s = asyncio.run(storm())
        print(f"[{label}] product  storm on one token (100 at once): {took * 1000:6.0f} ms in all, "
              f"p95 {p(lat, 95):6.1f} ms, statuses {st}; a staff request meanwhile "
              f"{staff_s * 1000:.0f} ms")
    finally:
        product.stop()
    bare = Server(url, [sys.executable, "-m", "uvicorn", "--factory", "benchmarks._bare_submit:app",
                        "--log-level", "warning"])
    try:
        took, lat, st = asyncio.run(_run(bare.base, bare_tokens, CLIENTS, 60))
        bare_rate = len(bare_tokens) / took
        print(f"[{label}] bare     spread: {bare_rate:7.1f} answers/s  p50 {p(lat, 50):6.1f} ms  "
              f"p95 {p(lat, 95):6.1f} ms  statuses {st}")
    finally:
        bare.stop()
    print(f"[{label}] ratio product/bare: {rate / bare_rate:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    n = 300 if args.smoke else 3000
    with tempfile.TemporaryDirectory() as tmp:
        bench_engine("sqlite", f"sqlite:///{tmp}/bench.sqlite3", n)
    with scratch_database() as url:
        if url:
            bench_engine("postgresql", url, n)


if __name__ == "__main__":
    main()
