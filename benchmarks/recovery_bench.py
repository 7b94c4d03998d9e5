"""Recovery queue and SLA watcher benchmark (issue #4), on PostgreSQL.

Seeds N open recovery tasks (a few hundred made through the real answer path, the rest bulk
copies of them spread over 12 teams, 60 owners, three priorities and deadlines from 3 days
overdue to 3 days ahead), then measures through the ASGI app (Litestar's TestClient):
the queue API and the queue page, p50/p95 over repeated requests, for a lead and for a team
member; and the SLA watcher: an idle scan (nothing due) and the scan that finds every one of
the N tasks due for a warning at once.

    .venv/bin/python benchmarks/recovery_bench.py            # 100k tasks
    .venv/bin/python benchmarks/recovery_bench.py --smoke    # 1k tasks, a few requests
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from litestar.testing import TestClient  # noqa: E402

from benchmarks._pgdb import scratch_database  # noqa: E402
from feedback.app import create_app, prepare_database  # noqa: E402
from feedback.auth.service import create_api_key, create_user  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.followups.service import drain  # noqa: E402
from feedback.ingest.schemas import InteractionIn  # noqa: E402
from feedback.ingest.service import ingest_one  # noqa: E402
from feedback.recovery.models import RecoveryTask  # noqa: E402
from feedback.recovery.tasks import scan_sla  # noqa: E402
from feedback.responses import record_response  # noqa: E402
from feedback.settings import Settings  # noqa: E402

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
TEAMS = [f"Team {i:02d}" for i in range(12)]
PASSWORD = "bench-password"
_T = RecoveryTask.__table__  # type: ignore[attr-defined]


def seed(engine: sa.Engine, settings: Settings, n_tasks: int, n_real: int) -> dict[str, int]:
    """Staff, n_real tasks through ingest + record_response, then bulk copies up to n_tasks."""
    with transaction(engine) as s:
        lead = create_user(s, email="lead@bench.test", name="Lead", role="lead", password=PASSWORD)
        agent = create_user(s, email="agent@bench.test", name="Agent", role="recovery",
                            team=TEAMS[0], password=PASSWORD)
        owners = [agent.id] + [create_user(s, email=f"r{i}@bench.test", name=f"Recovery {i}",
                                           role="recovery", team=TEAMS[i % len(TEAMS)]).id
                               for i in range(1, 60)]
        _, team_key = create_api_key(s, "bench team key", "recovery", TEAMS[0])
        _, lead_key = create_api_key(s, "bench lead key", "lead")
    for start in range(0, n_real, 250):
        with transaction(engine) as s:
            for i in range(start, min(start + 250, n_real)):
                item = InteractionIn.model_validate({
                    "external_id": f"RB-{i}", "channel": "phone", "team": TEAMS[i % len(TEAMS)],
                    "agent": f"agent {i % 40}", "occurred_at": (NOW - timedelta(hours=2)).isoformat(),
                    "survey": "nps", "customer": {"external_id": f"RBC-{i}", "name": f"Customer {i}",
                                                  "email": f"c{i}@example.com", "locale": "en"}})
                inv = ingest_one(s, item, now=NOW - timedelta(hours=2), settings=settings).invitation
                record_response(s, inv, score=i % 7, comment="waited too long, want to cancel",
                                source="web", now=NOW - timedelta(hours=1), settings=settings)
    # A detractor's task is made after commit by the worker's follow-ups job: run it as it would.
    drain(engine, settings, lambda: NOW - timedelta(hours=1), worker="bench")
    with engine.connect() as c:
        templates = [dict(r._mapping) for r in c.execute(sa.select(_T).order_by(_T.c.id))]
    rows = []
    for k in range(n_tasks - len(templates)):
        t = dict(templates[k % len(templates)])
        opened = NOW - timedelta(minutes=(k * 7919) % (4 * 24 * 60))  # up to 4 days ago
        first, resolution = opened + timedelta(hours=24), opened + timedelta(hours=48)
        t.update(id=None, open_customer_id=None, team=TEAMS[k % len(TEAMS)],
                 owner_id=None if k % 5 == 0 else owners[k % len(owners)],
                 status="new" if k % 5 == 0 else ("contacted" if k % 3 == 0 else "assigned"),
                 priority=["normal", "normal", "high", "urgent"][k % 4], opened_at=opened,
                 first_contact_due_at=first, resolution_due_at=resolution,
                 first_contact_warn_at=opened + timedelta(hours=19.2),
                 resolution_warn_at=opened + timedelta(hours=38.4),
                 first_contact_at=opened + timedelta(hours=3) if k % 3 == 0 else None)
        t["next_due_at"] = resolution if t["first_contact_at"] else first
        # The watcher's next look: far ahead, so the queue measurements see a quiet watcher.
        t["sla_next_at"] = NOW + timedelta(days=30)
        del t["id"]
        rows.append(t)
    with engine.begin() as c:
        for start in range(0, len(rows), 5000):
            c.execute(sa.insert(_T), rows[start:start + 5000])
    # What autovacuum does soon after a bulk load: statistics and the visibility map (which
    # lets the queue's counts come from the index alone).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("VACUUM ANALYZE"))
    return {"lead": lead.id, "agent": agent.id, "lead_key": lead_key, "team_key": team_key}  # type: ignore[dict-item]


def timed(client: TestClient, url: str, runs: int) -> tuple[float, float]:
    client.get(url)  # warm-up (template compile, plan cache)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def sign_in(client: TestClient, email: str) -> None:
    client.get("/login")
    r = client.post("/login", data={"email": email, "password": PASSWORD,
                                    "_csrf_token": client.cookies.get("csrftoken")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def run(url: str, n_tasks: int, runs: int) -> None:
    settings = Settings(database_url=url, secret_key="bench-secret", recovery_assignment="none")
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    t0 = time.perf_counter()
    ids = seed(engine, settings, n_tasks, n_real=min(100 if n_tasks < 5000 else 500, n_tasks))
    print(f"seeded {n_tasks:,} open tasks in {time.perf_counter() - t0:.1f} s")
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    for noisy in ("httpx", "alembic"):  # one line per request / per start-up: not figures
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cases = [
        ("API  lead, open queue", "lead_key", "/api/recovery/tasks"),
        ("API  lead, overdue", "lead_key", "/api/recovery/tasks?status=overdue"),
        ("API  lead, team+priority", "lead_key", f"/api/recovery/tasks?team={TEAMS[3]}&priority=urgent"),
        ("API  lead, page 20", "lead_key", "/api/recovery/tasks?page=20"),
        ("API  member (own team)", "team_key", "/api/recovery/tasks"),
    ]
    with TestClient(app, base_url="http://bench.local") as client:
        for label, key, path in cases:
            client.headers["Authorization"] = f"Bearer {ids[key]}"
            p50, p95 = timed(client, path, runs)
            print(f"{label:<28} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    for who, email, path in (("lead", "lead@bench.test", "/queue"),
                             ("lead", "lead@bench.test", "/queue?status=overdue&priority=high"),
                             ("member", "agent@bench.test", "/queue?mine=1"),
                             ("member", "agent@bench.test", "/queue")):
        with TestClient(app, base_url="http://bench.local") as client:
            sign_in(client, email)
            p50, p95 = timed(client, path, runs)
            print(f"page {who:<6} {path:<34} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")

    t = time.perf_counter()
    idle = scan_sla(engine, settings, NOW)
    print(f"SLA scan, nothing due ({n_tasks:,} open): {(time.perf_counter() - t) * 1000:.1f} ms, "
          f"{idle.tasks} tasks")
    with engine.begin() as c:  # every task is due for a warning or breach now
        c.execute(sa.update(_T).values(sla_next_at=NOW - timedelta(minutes=1)))
        c.execute(sa.text("ANALYZE recovery_task"))
    t, handled, passes = time.perf_counter(), 0, 0
    totals = [0, 0, 0]
    while True:
        r = scan_sla(engine, settings, NOW, batch=500, max_batches=1_000_000)
        passes += 1
        handled += r.tasks
        totals = [totals[0] + r.warnings, totals[1] + r.breaches, totals[2] + r.notifications]
        if r.tasks == 0:
            break
    took = time.perf_counter() - t
    print(f"SLA scan, all {n_tasks:,} due: {took:.1f} s = {handled / took:,.0f} tasks/s "
          f"({totals[0]:,} warnings, {totals[1]:,} breaches, {totals[2]:,} notifications, "
          f"{passes} passes)")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=40)
    a = ap.parse_args()
    n_tasks, runs = (1_000, 5) if a.smoke else (a.tasks, a.runs)
    with scratch_database() as url:
        if url is not None:
            run(url, n_tasks, runs)

if __name__ == "__main__":
    main()
