"""Ingest and KPI benchmark (issue: foundation).

Ingests N interactions through the same code path as POST /api/interactions (validation,
customer upsert, idempotent interaction upsert, invitation scheduling — in batches of 500 per
transaction), records M responses through record_response, then times the KPI summary
(/api/kpis maths: overall and grouped by day/team). Runs on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/foundation_bench.py            # 100k interactions, 50k responses
    .venv/bin/python benchmarks/foundation_bench.py --smoke    # a few hundred rows
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, select  # noqa: E402

from benchmarks._pgdb import scratch_database  # noqa: E402
from feedback.app import prepare_database  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.ingest.service import ingest_one, parse_payload  # noqa: E402
from feedback.kpis import kpi_report, make_filters  # noqa: E402
from feedback.responses import record_response  # noqa: E402
from feedback.settings import Settings  # noqa: E402
from surveys.models import Invitation  # noqa: E402

TEAMS = ["Billing", "Support", "Sales", "Retention"]
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def payload(i: int) -> dict:
    return {"external_id": f"B-{i}", "channel": ["phone", "chat", "email", "ticket"][i % 4],
            "occurred_at": (NOW - timedelta(minutes=i % 5000)).isoformat(),
            "agent": f"agent-{i % 97}", "team": TEAMS[i % 4], "queue": f"q{i % 7}",
            "survey": ["nps", "csat", "ces"][i % 3],
            "customer": {"external_id": f"BC-{i % 40000}", "email": f"c{i % 40000}@example.com",
                         "phone": f"+1415555{i % 10000:04d}", "locale": "en"}}


def run(url: str, label: str, n: int, m: int) -> None:
    settings = Settings(database_url=url, secret_key="bench")
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    t0 = time.perf_counter()
    batch = 500
    for start in range(0, n, batch):
        items = parse_payload([payload(i) for i in range(start, min(n, start + batch))], settings)
        with transaction(engine) as s:
            for item in items:
                ingest_one(s, item, now=NOW, settings=settings)
    ingest_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with Session(engine) as s:
        ids = list(s.exec(select(Invitation.id).order_by(Invitation.id).limit(m)).all())
    done = 0
    for start in range(0, len(ids), batch):
        with transaction(engine) as s:
            for inv_id in ids[start:start + batch]:
                inv = s.get(Invitation, inv_id)
                score = (inv_id * 7) % (11 if inv_id % 3 == 1 else 5 if inv_id % 3 == 2 else 7)
                kind_min = 0 if inv_id % 3 == 1 else 1
                record_response(s, inv, score=max(score, kind_min), comment="bench comment",
                                source="web", now=NOW + timedelta(hours=1), settings=settings)
                done += 1
    resp_s = time.perf_counter() - t0
    timings = {}
    with Session(engine) as s:
        f = make_filters(NOW + timedelta(days=1), "2026-10-01", "2026-11-30")
        for group in (None, "day", "team", "agent"):
            runs = []
            for _ in range(5):
                t = time.perf_counter()
                kpi_report(s, f, group)
                runs.append(time.perf_counter() - t)
            timings[group or "overall"] = statistics.median(runs)
    print(f"[{label}] ingest {n} interactions: {ingest_s:.1f} s = {n / ingest_s:,.0f} rows/s")
    print(f"[{label}] record {done} responses: {resp_s:.1f} s = {done / resp_s:,.0f} rows/s")
    for k, v in timings.items():
        print(f"[{label}] KPI summary ({k}): {v * 1000:.1f} ms (median of 5)")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--interactions", type=int, default=100_000)
    ap.add_argument("--responses", type=int, default=50_000)
    ap.add_argument("--engines", default="sqlite,postgresql")
    a = ap.parse_args()
    n, m = (600, 300) if a.smoke else (a.interactions, a.responses)
    if "sqlite" in a.engines:
        with tempfile.TemporaryDirectory() as d:
            run(f"sqlite:///{d}/bench.sqlite3", "sqlite", n, m)
    if "postgresql" in a.engines:
        with scratch_database() as url:
            if url is not None:
                run(url, "postgresql", n, m)
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
