"""Operations report benchmark (issue #16): `/api/reports/operations` over many interactions
on PostgreSQL, p50/p95 through the real app, against a bare reference in the same run.

Loads a year of synthetic contacts (handle times, waits, abandons, transfers, reasons, repeat
contacts) and a survey answer for every third one (`_seed`), builds the daily rollups as the
worker would, then times the report for 30 days, 90 days and a year, with and without a team
filter. Days before today come from the rollups (for the last week's provisional days, the
contacts whose repeat window has closed since the last settled day are added from raw rows,
at most about a day of them), today from live rows. The reference is one bare aggregate over the same period (`SELECT count(*),
sum(talk_seconds) …`), so the ratio says what the report's shape costs next to one scan.
`--live` times the same cases without rollups (every figure from raw rows).

    .venv/bin/python benchmarks/operations_bench.py            # 1M interactions
    .venv/bin/python benchmarks/operations_bench.py --smoke    # 10k interactions
    .venv/bin/python benchmarks/operations_bench.py --interactions 300000 --reps 5 --live
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from _pgdb import scratch_database  # noqa: E402
from _seed import (  # noqa: E402
    CUSTOMERS,
    INTERACTIONS,
    INVITATIONS,
    NOW,
    RESPONSES,
    YEAR_START,
    percentiles,
)
from _seed import load as seed  # noqa: E402

from feedback.db import make_engine  # noqa: E402
from feedback.settings import Settings  # noqa: E402

CASES = [
    ("30 days", {}),
    ("90 days, by agent", {"from": "2026-08-23", "by": "agent"}),
    ("1 year, by month", {"from": "2025-11-21", "grain": "month"}),
    ("1 year, team filter", {"from": "2025-11-21", "grain": "month", "team": "Billing"}),
]


def load(engine: sa.Engine, interactions: int) -> dict[str, int]:
    # A survey for every third contact, every one answered.
    params = {"customers": max(interactions // 5, 100), "interactions": interactions,
              "surveyed": 3, "answered_of_7": 7, "start": YEAR_START}
    return seed(engine, [CUSTOMERS, INTERACTIONS, INVITATIONS, RESPONSES], params,
                ("customer", "interaction", "invitation", "response"))


def bare(engine: sa.Engine, frm: str, reps: int) -> list[float]:
    """The reference: one aggregate over the same contacts, straight through the driver."""
    stmt = sa.text("SELECT count(*), sum(talk_seconds) FROM interaction "
                   "WHERE occurred_at >= CAST(:f AS timestamptz) AND occurred_at < :t")
    out = []
    with engine.connect() as conn:
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            conn.execute(stmt, {"f": frm, "t": NOW}).all()
            out.append((time.perf_counter() - t0) * 1000)
    return out[1:]


def time_report(settings: Settings, engine: sa.Engine, reps: int, title: str) -> None:
    from litestar.testing import TestClient

    from feedback.app import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    with TestClient(app) as client:
        client.headers["Authorization"] = "Bearer bench-admin"
        print(f"{title:28} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'ratio':>6}")
        for label, query in CASES:
            times = []
            for _ in range(reps + 1):  # the first call warms caches and is not counted
                t0 = time.perf_counter()
                r = client.get("/api/reports/operations", params=query)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (query, r.status_code, r.text[:300])
            p50, p95 = percentiles(times[1:])
            ref, _ = percentiles(bare(engine, query.get("from", "2026-10-22"), reps))
            print(f"{label:28} {p50:8.0f} {p95:8.0f} {ref:9.1f} {p50 / ref:6.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="10k interactions, 3 repetitions")
    ap.add_argument("--interactions", type=int, help="how many interactions to load")
    ap.add_argument("--reps", type=int, help="timed calls per case")
    ap.add_argument("--live", action="store_true", help="also time the report without rollups")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still drops the database
    n, reps = (10_000, 3) if args.smoke else (1_000_000, 10)
    n, reps = args.interactions or n, args.reps or reps
    with scratch_database() as url:
        if url is None:
            return
        settings = Settings(database_url=url, secret_key="bench", admin_api_key="bench-admin",
                            report_digest=False)
        engine = make_engine(url)
        from feedback.app import prepare_database
        from feedback.operations import rollups

        prepare_database(settings, engine)
        t0 = time.perf_counter()
        print(f"loaded {load(engine, n)} in {time.perf_counter() - t0:.1f} s")
        if args.live:
            time_report(settings, engine, reps, "live rows only")
        t0 = time.perf_counter()
        days = rollups.catch_up(engine, settings, NOW)
        print(f"rollups: {days} days in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        rollups.refresh_job(engine, settings, NOW.replace(minute=5))
        print(f"rollup job with nothing new: {(time.perf_counter() - t0) * 1000:.0f} ms")
        time_report(settings, engine, reps, "/api/reports/operations")
        engine.dispose()


if __name__ == "__main__":
    main()
