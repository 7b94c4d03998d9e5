"""Issue #11: dispatch keeps claiming while work is due, and runs as often as the setting says."""

from __future__ import annotations

from datetime import timedelta

from feedback.ingest.batch import ingest_batch
from feedback.ingest.schemas import InteractionIn
from feedback.worker import JobContext, build_scheduler, collect_jobs, job_seconds
from tests.factories import interaction_payload
from tests.outreach.conftest import outbox


def test_one_run_drains_more_than_a_batch(session, settings, clock, engine, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    now = clock()
    items = []
    for i in range(23):
        body = interaction_payload(i, customer={"external_id": f"C-{i}", "phone": None,
                                                "email": f"c{i}@example.com"})
        body["occurred_at"] = (now - timedelta(hours=1)).isoformat()
        items.append(InteractionIn.model_validate(body))
    ingest_batch(session, items, now=now, settings=settings)
    session.commit()
    dispatcher = make_dispatcher(batch_size=5)
    assert dispatcher.run_once()["sent"] == 5  # one pass: one batch
    assert dispatcher.drain()["sent"] == 18  # the rest, in one run of the job
    assert len(outbox(engine)) == 23
    assert dispatcher.drain().counts == {}


def test_the_dispatch_job_runs_every_worker_poll_seconds(engine, settings) -> None:  # type: ignore[no-untyped-def]
    [job] = [j for j in collect_jobs(["outreach.tasks"]) if j.name == "outreach.dispatch"]
    assert job_seconds(job, settings) == 10.0
    fast = settings.model_copy(update={"worker_poll_seconds": 0.5})
    assert job_seconds(job, fast) == 0.5
    scheduler = build_scheduler(JobContext(engine=engine, settings=fast), [job], blocking=False)
    assert scheduler.get_job("outreach.dispatch").trigger.interval == timedelta(seconds=0.5)


def test_rows_of_a_batch_go_side_by_side_each_once(session, settings, clock, engine,  # type: ignore[no-untyped-def]
                                                  make_dispatcher) -> None:
    """`dispatch_concurrency` sends a batch's rows from several threads on PostgreSQL (SQLite,
    one writer, sends them one by one): every row still goes out exactly once, with its log."""
    now = clock()
    items = []
    for i in range(12):
        body = interaction_payload(i, customer={"external_id": f"P-{i}", "phone": None,
                                                "email": f"p{i}@example.com"})
        body["occurred_at"] = (now - timedelta(hours=1)).isoformat()
        items.append(InteractionIn.model_validate(body))
    ingest_batch(session, items, now=now, settings=settings)
    session.commit()
    dispatcher = make_dispatcher(concurrency=4)
    assert dispatcher._side_by_side == (engine.dialect.name == "postgresql")
    assert dispatcher.drain()["sent"] == 12
    sent = outbox(engine)
    assert sorted(m.to for m in sent) == sorted(f"p{i}@example.com" for i in range(12))
    assert dispatcher.drain().counts == {}
