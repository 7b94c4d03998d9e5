"""Privacy benchmark (issue #15), on PostgreSQL: erase one customer, and the retention purge,
among N responses.

Seeds N responses (two per customer, with comments, spread over four years) set-based with
generate_series, then measures:
- erase: p50 / max of erasing one customer (the whole request transaction, commit included)
  against a bare reference in the same run: two UPDATEs by primary key / customer_id that blank
  the same customer's name and comments. Erasure locks only that customer's rows.
- purge: the comment pass over every expired comment, in batches, reporting rows/s and the
  longest batch transaction (= the longest time any purged row stays locked), against one bare
  `UPDATE response SET comment = NULL WHERE …` over the same rows (one long lock); then the
  customer pass (idle customers anonymised set-based, a batch of `retention_batch_size` per
  transaction, one audit row each) for a bounded number of batches, customers/s and the
  longest batch transaction (= the longest any of those customers' rows stays locked).

    .venv/bin/python benchmarks/privacy_bench.py             # 1M responses
    .venv/bin/python benchmarks/privacy_bench.py --smoke     # 4k responses
    .venv/bin/python benchmarks/privacy_bench.py --customer-batches 0   # every idle customer
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

from benchmarks._pgdb import scratch_database  # noqa: E402
from feedback.app import prepare_database  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.privacy import service  # noqa: E402
from feedback.privacy import tasks as privacy_tasks  # noqa: E402
from feedback.settings import Settings  # noqa: E402

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
DAYS = 1460  # four years of answers


def seed(engine: sa.Engine, n_responses: int) -> None:
    n_customers = n_responses // 2
    params = {"nc": n_customers, "nr": n_responses, "now": NOW, "days": DAYS}
    with engine.begin() as c:
        survey_id = c.execute(sa.text("SELECT id FROM survey_definition WHERE key = 'nps'")).scalar()
        params["sid"] = survey_id
        c.execute(sa.text("""
            INSERT INTO customer (id, external_id, name, email, phone, locale, created_at, updated_at,
                                  last_surveyed_at)
            SELECT g, 'EXT-' || g, 'Customer ' || g, 'c' || g || '@example.com',
                   '+1415' || lpad(g::text, 7, '0'), 'en',
                   :now - make_interval(days => (g % :days)), :now - make_interval(days => (g % :days)),
                   :now - make_interval(days => (g % :days))
            FROM generate_series(1, :nc) g"""), params)
        c.execute(sa.text("""
            INSERT INTO interaction (id, external_id, customer_id, channel, occurred_at, team, agent,
                                     created_at, updated_at)
            SELECT g, 'T-' || g, (g + 1) / 2, 'phone',
                   :now - make_interval(days => (((g + 1) / 2) % :days)), 'Team ' || (g % 12),
                   'Agent ' || (g % 80), :now, :now
            FROM generate_series(1, :nr) g"""), params)
        c.execute(sa.text("""
            INSERT INTO invitation (id, token, purpose, customer_id, interaction_id, survey_id, channel,
                                    locale, status, send_at, expires_at, attempts, created_at,
                                    updated_at, answered_at)
            SELECT g, 'tok' || g, 'survey', (g + 1) / 2, g, :sid, 'sms', 'en', 'answered',
                   :now - make_interval(days => (((g + 1) / 2) % :days)),
                   :now - make_interval(days => (((g + 1) / 2) % :days)) + interval '7 days', 1,
                   :now, :now, :now - make_interval(days => (((g + 1) / 2) % :days))
            FROM generate_series(1, :nr) g"""), params)
        c.execute(sa.text("""
            INSERT INTO response (id, invitation_id, customer_id, interaction_id, survey_id, kind, score,
                                  classification, comment, comment_at, source, locale, purpose,
                                  team, agent, channel, submitted_at)
            SELECT g, g, (g + 1) / 2, g, :sid, 'nps', g % 11,
                   CASE WHEN g % 11 >= 9 THEN 'promoter' WHEN g % 11 >= 7 THEN 'passive'
                        ELSE 'detractor' END,
                   'comment number ' || g || ' about the wait',
                   :now - make_interval(days => (((g + 1) / 2) % :days)), 'sms', 'en', 'survey',
                   'Team ' || (g % 12), 'Agent ' || (g % 80), 'phone',
                   :now - make_interval(days => (((g + 1) / 2) % :days))
            FROM generate_series(1, :nr) g"""), params)
        for table in ("customer", "interaction", "invitation", "response"):
            c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
        c.execute(sa.text("ANALYZE"))


def kpi(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as c:
        row = c.execute(sa.text("SELECT count(*), sum(score), sum(CASE WHEN classification = "
                                "'promoter' THEN 1 ELSE 0 END) FROM response")).one()
    return int(row[0]), int(row[1]), int(row[2])


def bench_erase(engine: sa.Engine, settings: Settings, n_customers: int, rounds: int) -> None:
    step = max(1, n_customers // (rounds * 2 + 1))
    ours, bare = [], []
    for i in range(rounds):
        cid = 1 + (2 * i) * step
        t = time.perf_counter()
        with transaction(engine) as s:
            service.erase(s, cid, reason="bench", actor="bench", now=NOW, key=settings.secret_key)
        ours.append(time.perf_counter() - t)
        other = 1 + (2 * i + 1) * step
        t = time.perf_counter()
        with engine.begin() as c:
            c.execute(sa.text("UPDATE customer SET name = NULL, email = NULL, phone = NULL "
                              "WHERE id = :id"), {"id": other})
            c.execute(sa.text("UPDATE response SET comment = NULL WHERE customer_id = :id"),
                      {"id": other})
        bare.append(time.perf_counter() - t)
    p50, p50b = statistics.median(ours), statistics.median(bare)
    print(f"erase one customer: p50 {p50 * 1000:.1f} ms, max {max(ours) * 1000:.1f} ms "
          f"(bare two-UPDATE reference p50 {p50b * 1000:.1f} ms; ratio {p50 / p50b:.1f}x) "
          f"over {rounds} customers; locks: that customer's rows only")


def bench_purge(engine: sa.Engine, settings: Settings, customer_batches: int) -> None:
    comment_cut = NOW - timedelta(days=settings.retention_comment_days)
    with engine.connect() as c:
        due = c.execute(sa.text("SELECT count(*) FROM response WHERE comment IS NOT NULL AND "
                                "comment_at < :cut"), {"cut": comment_cut}).scalar()
    # Bare reference: one statement, on a copy of the column so the real pass still has work.
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE response_copy AS SELECT id, comment, comment_at FROM response"))
    t = time.perf_counter()
    with engine.begin() as c:
        c.execute(sa.text("UPDATE response_copy SET comment = NULL WHERE comment IS NOT NULL "
                          "AND comment_at < :cut"), {"cut": comment_cut})
    bare = time.perf_counter() - t
    with engine.begin() as c:
        c.execute(sa.text("DROP TABLE response_copy"))

    batch_times: list[float] = []
    real_transaction = privacy_tasks.transaction

    def timed_transaction(*a, **kw):  # type: ignore[no-untyped-def]
        # Time each batch's transaction: the longest is the longest any purged row was locked.
        from contextlib import contextmanager

        @contextmanager
        def wrapped():  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            with real_transaction(*a, **kw) as s:
                yield s
            batch_times.append(time.perf_counter() - t0)

        return wrapped()

    privacy_tasks.transaction = timed_transaction  # type: ignore[assignment]
    try:
        comments_only = settings.model_copy(update={"retention_customer_days": 0,
                                                    "retention_message_days": 0})
        t = time.perf_counter()
        report = privacy_tasks.purge(engine, comments_only, NOW)
        ours = time.perf_counter() - t
        assert report.comments == due, (report, due)
        print(f"purge comments: {report.comments} rows in {ours:.2f} s "
              f"({report.comments / max(ours, 1e-9):,.0f} rows/s), {len(batch_times)} batches, "
              f"longest batch transaction {max(batch_times) * 1000:.0f} ms "
              f"(bare single UPDATE {bare:.2f} s holding every row's lock; ratio {ours / bare:.1f}x)")
        again = privacy_tasks.purge(engine, comments_only, NOW)
        assert not any(again.as_json().values()), again
        batch_times.clear()
        customers_only = settings.model_copy(update={"retention_comment_days": 0,
                                                     "retention_message_days": 0})
        t = time.perf_counter()
        report = privacy_tasks.purge(engine, customers_only, NOW, max_batches=customer_batches)
        took = time.perf_counter() - t
        print(f"purge customers (first {customer_batches} batch(es)): {report.customers} "
              f"customers in {took:.2f} s ({report.customers / max(took, 1e-9):,.0f}/s), longest "
              f"transaction {max(batch_times) * 1000:.0f} ms")
    finally:
        privacy_tasks.transaction = real_transaction  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="4k responses, a few rounds")
    parser.add_argument("--responses", type=int, default=None)
    parser.add_argument("--customer-batches", type=int, default=None,
                        help="batches of the customer pass to time (0: all; default 40)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    n = args.responses or (4_000 if args.smoke else 1_000_000)
    with scratch_database() as url:
        if url is None:
            return
        settings = Settings(database_url=url, secret_key="bench-secret", auto_migrate=True,
                            retention_comment_days=730, retention_customer_days=1095,
                            retention_batch_size=500 if not args.smoke else 40)
        engine = make_engine(settings.database_url)
        try:
            prepare_database(settings, engine)
            t = time.perf_counter()
            seed(engine, n)
            print(f"seeded {n:,} responses / {n // 2:,} customers in {time.perf_counter() - t:.1f} s")
            before = kpi(engine)
            bench_erase(engine, settings, n // 2, rounds=3 if args.smoke else 20)
            batches = args.customer_batches if args.customer_batches is not None else (
                1 if args.smoke else 40)
            bench_purge(engine, settings, customer_batches=batches or 1_000_000)
            after = kpi(engine)
            assert before == after, (before, after)
            print(f"KPIs unchanged: {after[0]:,} responses, score sum {after[1]:,}, "
                  f"{after[2]:,} promoters")
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
