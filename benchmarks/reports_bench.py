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
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from feedback.db import make_engine  # noqa: E402
from feedback.settings import Settings  # noqa: E402

PG = os.environ.get("FEEDBACK_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
YEAR_START = "2025-11-20 00:00:00+00"

# One statement per table; invitations = responses * 1.4 (a 70 % response rate), one
# interaction per invitation. As in a real contact centre, each of the 200 agents and 15
# queues belongs to one of the 5 teams; channels and survey kinds cut across teams.
LOAD = [
    """INSERT INTO customer (id, external_id, locale, created_at, updated_at)
       SELECT g, 'C-' || g, 'en', now(), now() FROM generate_series(1, :customers) g""",
    """INSERT INTO interaction (id, external_id, customer_id, channel, agent, team, queue,
                               occurred_at, created_at, updated_at)
       SELECT g, 'I-' || g, 1 + g % :customers,
              (ARRAY['phone','chat','email','ticket'])[1 + g % 4],
              'agent-' || (g % 5) || '-' || ((g / 7) % 40),
              (ARRAY['Billing','Support','Sales','Retention','Tech'])[1 + g % 5],
              'q' || (g % 5) || '-' || ((g / 5) % 3), t, now(), now()
       FROM (SELECT g, CAST(:start AS timestamptz) + interval '1 second' * (g::float8 * 31536000 / :invitations) AS t
             FROM generate_series(1, :invitations) g) s""",
    """INSERT INTO invitation (id, token, purpose, customer_id, interaction_id, survey_id, channel,
                              locale, status, send_at, expires_at, attempts, sent_at, answered_at,
                              created_at, updated_at)
       SELECT i.id, md5(i.id::text), 'survey', i.customer_id, i.id,
              (SELECT id FROM survey_definition WHERE kind = (ARRAY['nps','csat','ces'])[1 + i.id % 3]
               ORDER BY id LIMIT 1),
              'email', 'en', 'sent', i.occurred_at, i.occurred_at + interval '7 days', 1,
              i.occurred_at + interval '30 minutes',
              CASE WHEN i.id % 7 < 5 THEN i.occurred_at + interval '2 hours' END, now(), now()
       FROM interaction i""",
    """INSERT INTO response (id, invitation_id, customer_id, interaction_id, survey_id, kind, score,
                            classification, comment, source, locale, team, agent, channel, queue,
                            purpose, submitted_at)
       SELECT row_number() OVER (ORDER BY v.id), v.id, v.customer_id, v.id, v.survey_id, d.kind, sc,
              CASE d.kind
                WHEN 'nps' THEN CASE WHEN sc >= 9 THEN 'promoter' WHEN sc >= 7 THEN 'passive' ELSE 'detractor' END
                WHEN 'csat' THEN CASE WHEN sc >= 4 THEN 'satisfied' WHEN sc = 3 THEN 'neutral' ELSE 'dissatisfied' END
                ELSE CASE WHEN sc >= 5 THEN 'easy' WHEN sc = 4 THEN 'neutral' ELSE 'difficult' END END,
              CASE WHEN v.id % 3 = 0 THEN 'comment number ' || v.id END, 'web', 'en',
              i.team, i.agent, i.channel, i.queue, 'survey', v.answered_at
       FROM invitation v JOIN interaction i ON i.id = v.interaction_id
       JOIN survey_definition d ON d.id = v.survey_id,
       LATERAL (SELECT CASE d.kind WHEN 'nps' THEN (v.id * 7) % 11 WHEN 'csat' THEN 1 + (v.id * 3) % 5
                       ELSE 1 + (v.id * 5) % 7 END AS sc) s
       WHERE v.answered_at IS NOT NULL""",
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
    params = {"customers": max(responses // 5, 100), "invitations": responses * 7 // 5,
              "start": YEAR_START, "tasks": tasks}
    with engine.begin() as conn:
        for stmt in LOAD:
            text = sa.text(stmt)
            conn.execute(text, {k: v for k, v in params.items() if f":{k}" in stmt})
        for table in ("customer", "interaction", "invitation", "response", "recovery_task"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
        return {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0)
                for t in ("response", "invitation", "recovery_task")}


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
            times = sorted(times[1:])
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(f"{label:48} {statistics.median(times):8.0f} {p95:8.0f}")


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
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = f"reports_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG).set(database=name).render_as_string(hide_password=False)
    try:
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
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


if __name__ == "__main__":
    main()
