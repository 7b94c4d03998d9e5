"""Operations report benchmark (issue #16): `/api/reports/operations` over many interactions
on PostgreSQL, p50/p95 through the real app, against a bare reference in the same run.

Loads a year of synthetic contacts (handle times, waits, abandons, transfers, reasons, repeat
contacts) and a survey answer for every third one with server-side `INSERT … SELECT
generate_series`, then times the report for 30 days, 90 days and a year, with and without a
team filter. The reference is one bare aggregate over the same period (`SELECT count(*),
sum(talk_seconds) …`): the report runs about a dozen grouped scans plus a window function, so
its ratio to one scan says what the report's shape costs.

    .venv/bin/python benchmarks/operations_bench.py            # 1M interactions
    .venv/bin/python benchmarks/operations_bench.py --smoke    # 10k interactions
    .venv/bin/python benchmarks/operations_bench.py --interactions 300000 --reps 5
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import statistics
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

LOAD = [
    """INSERT INTO customer (id, external_id, locale, created_at, updated_at)
       SELECT g, 'C-' || g, 'en', now(), now() FROM generate_series(1, :customers) g""",
    # 7 % abandoned (a third of them within 5 s), talk/hold/wrap spread per agent, 0-3
    # transfers, five reasons; customers repeat (n / 5 customers), so inferred FCR has work.
    """INSERT INTO interaction (id, external_id, customer_id, channel, agent, team, queue,
                               occurred_at, created_at, updated_at, wait_seconds, talk_seconds,
                               hold_seconds, wrap_seconds, abandoned, transfers, resolved,
                               contact_reason, first_response_seconds)
       SELECT g, 'I-' || g, 1 + (g::bigint * 7919) % :customers,
              (ARRAY['phone','phone','chat','email'])[1 + g % 4],
              'agent-' || (g % 5) || '-' || ((g / 7) % 40),
              (ARRAY['Billing','Support','Sales','Retention','Tech'])[1 + g % 5],
              'q' || (g % 5) || '-' || ((g / 5) % 3), t, now(), now(),
              CASE WHEN g % 4 < 3 THEN CASE WHEN g % 100 < 3 THEN 1 + g % 5 ELSE (g * 37) % 600 END END,
              CASE WHEN g % 4 < 3 AND g % 100 >= 7 THEN 60 + (g * 13) % 600 END,
              CASE WHEN g % 4 < 3 AND g % 100 >= 7 THEN (g * 17) % 120 END,
              CASE WHEN g % 4 < 3 AND g % 100 >= 7 THEN 10 + (g * 19) % 90 END,
              CASE WHEN g % 4 < 3 THEN g % 100 < 7 END,
              CASE WHEN g % 100 >= 7 THEN (ARRAY[0,0,0,0,0,0,1,1,2,3])[1 + (g * 3) % 10] END,
              CASE WHEN g % 100 >= 7 THEN (g * 11) % 10 < 7 END,
              (ARRAY['billing','delivery','account','technical','cancellation'])[1 + (g * 5) % 5],
              CASE WHEN g % 4 = 3 THEN (g * 23) % 7200 END
       FROM (SELECT g, CAST(:start AS timestamptz) + interval '1 second' * (g::float8 * 31536000 / :interactions) AS t
             FROM generate_series(1, :interactions) g) s""",
    """INSERT INTO invitation (id, token, purpose, customer_id, interaction_id, survey_id, channel,
                              locale, status, send_at, expires_at, attempts, sent_at, answered_at,
                              created_at, updated_at)
       SELECT i.id, md5(i.id::text), 'survey', i.customer_id, i.id,
              (SELECT id FROM survey_definition WHERE kind = (ARRAY['nps','csat','ces'])[1 + i.id % 3]
               ORDER BY id LIMIT 1),
              'email', 'en', 'answered', i.occurred_at, i.occurred_at + interval '7 days', 1,
              i.occurred_at + interval '30 minutes', i.occurred_at + interval '2 hours', now(), now()
       FROM interaction i WHERE i.id % 3 = 0""",
    """INSERT INTO response (id, invitation_id, customer_id, interaction_id, survey_id, kind, score,
                            classification, source, locale, team, agent, channel, queue,
                            purpose, resolved, submitted_at)
       SELECT v.id, v.id, v.customer_id, v.id, v.survey_id, d.kind, sc,
              CASE d.kind
                WHEN 'nps' THEN CASE WHEN sc >= 9 THEN 'promoter' WHEN sc >= 7 THEN 'passive' ELSE 'detractor' END
                WHEN 'csat' THEN CASE WHEN sc >= 4 THEN 'satisfied' WHEN sc = 3 THEN 'neutral' ELSE 'dissatisfied' END
                ELSE CASE WHEN sc >= 5 THEN 'easy' WHEN sc = 4 THEN 'neutral' ELSE 'difficult' END END,
              'web', 'en', i.team, i.agent, i.channel, i.queue, 'survey',
              CASE WHEN v.id % 5 <> 0 THEN (v.id * 7) % 10 < 6 END, v.answered_at
       FROM invitation v JOIN interaction i ON i.id = v.interaction_id
       JOIN survey_definition d ON d.id = v.survey_id,
       LATERAL (SELECT CASE d.kind WHEN 'nps' THEN (v.id * 7) % 11 WHEN 'csat' THEN 1 + (v.id * 3) % 5
                       ELSE 1 + (v.id * 5) % 7 END AS sc) s""",
]

CASES = [
    ("30 days", {}),
    ("90 days, by agent", {"from": "2026-08-23", "by": "agent"}),
    ("1 year, by month", {"from": "2025-11-21", "grain": "month"}),
    ("1 year, team filter", {"from": "2025-11-21", "grain": "month", "team": "Billing"}),
]


def load(engine: sa.Engine, interactions: int) -> dict[str, int]:
    params = {"customers": max(interactions // 5, 100), "interactions": interactions,
              "start": YEAR_START}
    with engine.begin() as conn:
        for stmt in LOAD:
            conn.execute(sa.text(stmt), {k: v for k, v in params.items() if f":{k}" in stmt})
        for table in ("customer", "interaction", "invitation", "response"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
        return {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0)
                for t in ("interaction", "response")}


def _p(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


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


def time_report(settings: Settings, engine: sa.Engine, reps: int) -> None:
    from litestar.testing import TestClient

    from feedback.app import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    with TestClient(app) as client:
        client.headers["Authorization"] = "Bearer bench-admin"
        print(f"{'/api/reports/operations':28} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'ratio':>6}")
        for label, query in CASES:
            times = []
            for _ in range(reps + 1):  # the first call warms caches and is not counted
                t0 = time.perf_counter()
                r = client.get("/api/reports/operations", params=query)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (query, r.status_code, r.text[:300])
            p50, p95 = _p(times[1:])
            ref, _ = _p(bare(engine, query.get("from", "2026-10-22"), reps))
            print(f"{label:28} {p50:8.0f} {p95:8.0f} {ref:9.1f} {p50 / ref:6.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="10k interactions, 3 repetitions")
    ap.add_argument("--interactions", type=int, help="how many interactions to load")
    ap.add_argument("--reps", type=int, help="timed calls per case")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still drops the database
    n, reps = (10_000, 3) if args.smoke else (1_000_000, 10)
    n, reps = args.interactions or n, args.reps or reps
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = f"operations_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG).set(database=name).render_as_string(hide_password=False)
    try:
        settings = Settings(database_url=url, secret_key="bench", admin_api_key="bench-admin",
                            report_digest=False)
        engine = make_engine(url)
        from feedback.app import prepare_database

        prepare_database(settings, engine)
        t0 = time.perf_counter()
        print(f"loaded {load(engine, n)} in {time.perf_counter() - t0:.1f} s")
        time_report(settings, engine, reps)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


if __name__ == "__main__":
    main()
