"""CX report benchmark (issue #6): every report endpoint over 1M responses and 100k recovery
tasks on PostgreSQL, and the 1M-row CSV export.

Loads a year of synthetic data into a throw-away PostgreSQL database with server-side
`INSERT … SELECT generate_series` (no round trip per row), builds the daily rollups as the
worker would, then times each endpoint through the real app (HTTP handler, JSON, templates)
and streams the response export in a separate process to measure its peak memory.

    .venv/bin/python benchmarks/reports_bench.py            # 1M responses, 100k tasks
    .venv/bin/python benchmarks/reports_bench.py --smoke    # 20k responses, 2k tasks
"""

from __future__ import annotations

import argparse
import logging
import resource
import signal
import subprocess
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

# Every interaction gets a survey, 5 in 7 are answered (invitations = responses * 1.4), and
# every detractor up to `tasks` opens a recovery task.
LOAD = [
    CUSTOMERS, INTERACTIONS, INVITATIONS, RESPONSES,
    """INSERT INTO recovery_task (customer_id, response_id, interaction_id, kind, score, classification,
                                 team, agent, status, priority, opened_at, first_contact_due_at,
                                 resolution_due_at, first_contact_warn_at, resolution_warn_at,
                                 next_due_at, first_contact_at, reached_at, resolved_at, outcome,
                                 root_cause, created_at, updated_at)
       SELECT r.customer_id, r.id, r.interaction_id, r.kind, r.score, r.classification, r.team, r.agent,
              CASE WHEN r.id % 10 = 0 THEN 'new' ELSE 'resolved' END, 'normal', r.submitted_at,
              r.submitted_at + interval '24 hours', r.submitted_at + interval '48 hours',
              r.submitted_at + interval '20 hours', r.submitted_at + interval '40 hours',
              CASE WHEN r.id % 10 = 0 THEN r.submitted_at + interval '24 hours' END,
              CASE WHEN r.id % 10 <> 0 THEN r.submitted_at + (r.id % 30) * interval '1 hour' END,
              CASE WHEN r.id % 10 <> 0 THEN r.submitted_at + (r.id % 30) * interval '1 hour' END,
              CASE WHEN r.id % 10 <> 0 THEN r.submitted_at + (r.id % 60) * interval '1 hour' END,
              CASE WHEN r.id % 10 <> 0 THEN (ARRAY['recovered','not_recovered','unreachable'])[1 + r.id % 3] END,
              CASE WHEN r.id % 10 <> 0 THEN (ARRAY['wait time','billing error','policy','price'])[1 + r.id % 4] END,
              now(), now()
       FROM response r WHERE r.classification IN ('detractor', 'dissatisfied', 'difficult')
       ORDER BY r.id LIMIT :tasks""",
]

ENDPOINTS = [
    ("/api/kpis (30 days)", "/api/kpis", {}),
    ("/api/kpis by team, 1 year", "/api/kpis", {"from": "2025-11-21", "group_by": "team"}),
    ("/api/reports/dashboard (30 days)", "/api/reports/dashboard", {}),
    ("/api/reports/dashboard (1 year, by month)", "/api/reports/dashboard",
     {"from": "2025-11-21", "grain": "month"}),
    ("/api/reports/dashboard (team filter)", "/api/reports/dashboard",
     {"from": "2026-05-01", "team": "Billing", "kind": "nps"}),
    ("/api/reports/breakdown by agent (90 days)", "/api/reports/breakdown",
     {"from": "2026-08-23", "by": "agent"}),
    ("/api/reports/heatmap (1 year)", "/api/reports/heatmap", {"from": "2025-11-21"}),
    ("/api/reports/themes", "/api/reports/themes", {}),
    ("/api/reports/loop (90 days)", "/api/reports/loop", {"from": "2026-08-23"}),
    ("/api/reports/csv/breakdown", "/api/reports/csv/breakdown", {"by": "queue"}),
    ("/reports page (30 days)", "/reports", {}),
    ("/reports/loop page (90 days)", "/reports/loop", {"from": "2026-08-23"}),
]


def load(engine: sa.Engine, responses: int, tasks: int) -> dict[str, int]:
    params = {"customers": max(responses // 5, 100), "interactions": responses * 7 // 5,
              "surveyed": 1, "answered_of_7": 5, "start": YEAR_START,
              "tasks": tasks}
    return seed(engine, LOAD, params,
                ("customer", "interaction", "invitation", "response", "recovery_task"))


def time_endpoints(settings: Settings, engine: sa.Engine, reps: int) -> None:
    from litestar.testing import TestClient

    from feedback.app import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    with TestClient(app) as client:
        client.headers["Authorization"] = "Bearer bench-admin"
        print(f"{'endpoint':48} {'p50 ms':>8} {'p95 ms':>8}")
        for label, path, query in ENDPOINTS:
            times = []
            for _ in range(reps + 1):  # the first call warms caches and is not counted
                t0 = time.perf_counter()
                r = client.get(path, params=query)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
            p50, p95 = percentiles(times[1:])
            print(f"{label:48} {p50:8.0f} {p95:8.0f}")


def export_child(url: str) -> None:
    """Stream the whole response export (as the endpoint does) and report time and peak RSS."""
    from feedback.reports import exports
    from feedback.reports.figures import make_filters

    engine = make_engine(url)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    size = rows = 0
    for chunk in exports.responses_csv(engine, make_filters(NOW, "2025-11-01", "2026-11-20")):
        size += len(chunk)
        rows += chunk.count(b"\r\n")
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"export: {rows - 1} rows, {size / 1e6:.0f} MB CSV in {elapsed:.1f} s "
          f"({(rows - 1) / elapsed:,.0f} rows/s); peak RSS {peak / 1024:.0f} MB "
          f"(+{(peak - base) / 1024:.0f} MB while streaming)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="20k responses, 2k tasks")
    ap.add_argument("--export-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.export_child:
        export_child(args.export_child)
        return
    # A timeout's SIGTERM still runs the `finally` below, so no benchmark database is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    responses, tasks, reps = (20_000, 2_000, 3) if args.smoke else (1_000_000, 100_000, 10)
    with scratch_database() as url:
        if url is None:
            return
        settings = Settings(database_url=url, secret_key="bench", admin_api_key="bench-admin",
                            report_digest=False)
        engine = make_engine(url)
        from feedback.app import prepare_database
        from feedback.reports import rollups

        prepare_database(settings, engine)
        t0 = time.perf_counter()
        counts = load(engine, responses, tasks)
        print(f"loaded {counts} in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        days = rollups.catch_up(engine, settings, NOW)
        print(f"rollups: {days} days in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        rollups.refresh_job(engine, settings, NOW.replace(minute=5))
        print(f"rollup job with nothing new: {(time.perf_counter() - t0) * 1000:.0f} ms")
        time_endpoints(settings, engine, reps)
        engine.dispose()
        subprocess.run([sys.executable, __file__, "--export-child", url], check=True)


if __name__ == "__main__":
    main()
