"""The retention purge: windows from settings, batches, idempotent, aggregates intact."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from feedback.privacy.tasks import purge
from feedback.responses import record_response
from outreach import optouts
from outreach.models import DevOutboxMessage
from surveys.models import Customer, OptOut, Response
from tests.factories import make_invitation


def _invited(session, settings, clock, n):  # type: ignore[no-untyped-def]
    return make_invitation(session, settings, clock.now, n=n, customer={
        "external_id": f"R-{n}", "name": f"Person {n}", "email": f"p{n}@example.com",
        "phone": None})


def _answer(session, settings, clock, inv, comment):  # type: ignore[no-untyped-def]
    session.refresh(inv)
    record_response(session, inv, score=inv.id % 11, comment=comment, source="web",
                    now=clock.now, settings=settings)
    session.commit()


def test_purge_in_batches_keeps_scores_and_is_idempotent(session, engine, settings, clock,  # type: ignore[no-untyped-def]
                                                         api, make_dispatcher):
    settings = settings.model_copy(update={"retention_batch_size": 2, "retention_comment_days": 30,
                                           "retention_message_days": 7,
                                           "retention_customer_days": 60})
    invitations = [_invited(session, settings, clock, n) for n in range(1, 6)]
    assert make_dispatcher().run_once()["sent"] == 5
    for n, inv in enumerate(invitations, 1):
        _answer(session, settings, clock, inv, f"comment number {n}")
    with Session(engine) as s:
        optouts.record(s, "email", "p1@example.com", source="admin", now=clock.now, customer_id=1)
        s.commit()
    kpis = api.get("/api/kpis", params={"from": "2026-01-01", "to": "2026-12-31"}).json()

    # Nothing is old enough yet.
    assert not any(purge(engine, settings, clock.now).as_json().values())

    clock.advance(days=10)
    report = purge(engine, settings, clock.now)
    assert report.outbox_messages >= 1 and report.comments == 0 and report.customers == 0
    with Session(engine) as s:
        assert s.exec(select(DevOutboxMessage)).all() == []

    clock.advance(days=25)  # 35 days: comments go
    assert purge(engine, settings, clock.now).comments == 5
    clock.advance(days=30)  # 65 days: the customers have been idle past their window
    report = purge(engine, settings, clock.now)
    assert report.customers == 5, report
    with Session(engine) as s:
        assert {(c.name, c.email) for c in s.exec(select(Customer)).all()} == {(None, None)}
        assert [r.comment for r in s.exec(select(Response)).all()] == [None] * 5
        # The opt-out survives, hashed; the others were not suppressed by a retention purge.
        rows = s.exec(select(OptOut)).all()
        assert [r.address.startswith("hmac:") for r in rows] == [True]
        assert optouts.opted_out_channels(s, ["p1@example.com"], settings.secret_key) == {"email"}
        assert optouts.opted_out_channels(s, ["p2@example.com"], settings.secret_key) == set()
    assert api.get("/api/kpis", params={"from": "2026-01-01", "to": "2026-12-31"}).json() == kpis
    assert not any(purge(engine, settings, clock.now).as_json().values())  # idempotent


def test_zero_days_keeps_forever(session, engine, settings, clock):  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"retention_comment_days": 0,
                                           "retention_message_days": 0,
                                           "retention_customer_days": 0})
    _answer(session, settings, clock, _invited(session, settings, clock, 1), "keep me")
    clock.advance(days=5000)
    assert not any(purge(engine, settings, clock.now).as_json().values())
    assert session.exec(select(Response)).one().comment == "keep me"


def test_job_is_registered(settings):  # type: ignore[no-untyped-def]
    from feedback.worker import collect_jobs

    assert "privacy.retention_purge" in {j.name for j in collect_jobs()}
    _ = timedelta


def test_a_batch_erases_exactly_as_one_by_one(session, engine, settings, clock, api,  # type: ignore[no-untyped-def]
                                              make_dispatcher):
    """The purge erases a batch of customers set-based; the audit trail (one `Erasure` row per
    customer, with what was done to their rows) and the result are those of erasing each one
    on its own — here for a customer seeded through every path, beside plainer ones."""
    from feedback.db import new_session
    from feedback.privacy import erasure
    from feedback.privacy.models import Erasure
    from tests.privacy.test_erase import scan, seed

    rich = seed(session, engine, settings, clock, api, make_dispatcher)["customer_id"]
    others = [_invited(session, settings, clock, n) for n in range(3, 6)]
    assert make_dispatcher().run_once()["sent"] == 3
    _answer(session, settings, clock, others[0], "comment number 3 from p3@example.com")
    with Session(engine) as s:
        optouts.record(s, "email", "p4@example.com", source="admin", now=clock.now,
                       customer_id=others[1].customer_id)
        s.commit()
    ids = [rich, *(inv.customer_id for inv in others)]

    def erase(batches: list[list[int]]) -> dict[int, dict[str, int]]:
        s = new_session(engine)
        try:
            out = {}
            for batch in batches:
                done, busy = erasure.erase_many(s, batch, reason="test", actor="retention",
                                                now=clock.now, key=settings.secret_key,
                                                suppress_all=False)
                assert not busy
                out.update({r.customer_id: r.counts for r in done})
            return out
        finally:
            s.rollback()
            s.close()

    one_by_one = erase([[cid] for cid in ids])
    assert one_by_one[rich]["outbox_messages_deleted"] >= 1
    assert one_by_one[rich]["comments_removed"] == 2
    assert one_by_one[others[1].customer_id] == {"invitations_cancelled": 1,
                                                 "outbox_messages_deleted": 1,
                                                 "suppressions": 1}
    assert erase([ids]) == one_by_one

    with new_session(engine) as s:
        erasure.erase_many(s, ids, reason="test", actor="retention", now=clock.now,
                           key=settings.secret_key, suppress_all=False)
        s.commit()
    with Session(engine) as s:
        audit = {e.customer_id: e.counts for e in s.exec(select(Erasure)).all()}
        assert audit == one_by_one
        assert {(c.name, c.email, c.phone) for c in s.exec(select(Customer)).all()} == {
            (None, None, None)}
    assert scan(engine) == []
