"""One request = one transaction, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from feedback.db import finish, new_session
from feedback.responses import record_response
from surveys.models import Invitation
from tests.factories import interaction_payload, make_invitation


def _responses(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM response")).scalar_one()


def test_a_failure_after_the_answer_leaves_no_answer_behind(session, engine, settings, clock):  # type: ignore[no-untyped-def]
    """v1 on SQLite: the savepoint's RELEASE committed the response on its own, so a crash
    after it left a detractor with no recovery task."""
    inv = make_invitation(session, settings, clock.now)
    with pytest.raises(RuntimeError), finish(new_session(engine)) as db:
        mine = db.get(Invitation, inv.id)
        record_response(db, mine, score=0, comment="awful", source="web", now=clock.now,
                        settings=settings)
        with db.begin_nested():  # a savepoint must stay only a savepoint
            db.execute(sa.text("SELECT 1"))
        raise RuntimeError("crash after the insert")
    assert _responses(engine) == 0
    session.expire_all()
    assert session.get(Invitation, inv.id).status != "answered"


def test_a_handler_that_fails_rolls_back_its_writes(api, engine, clock):  # type: ignore[no-untyped-def]
    body = interaction_payload(1, occurred_at=clock.now.isoformat())
    assert api.post("/api/interactions", json=body).status_code == 201
    # Same external id, another customer: refused whole, nothing changed, both named.
    other = interaction_payload(1, occurred_at=clock.now.isoformat(),
                                customer={"external_id": "C-999", "name": "Someone Else"})
    response = api.post("/api/interactions", json=other)
    assert response.status_code == 409
    body409 = response.json()
    assert body409["error"] == "customer_mismatch"
    assert "C-1" in body409["message"] and "C-999" in body409["message"]
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM customer WHERE external_id = 'C-999'")).scalar_one() == 0
        owner = conn.execute(sa.text(
            "SELECT c.external_id FROM interaction i JOIN customer c ON c.id = i.customer_id "
            "WHERE i.external_id = 'T-1'")).scalar_one()
    assert owner == "C-1"


def test_a_retried_ingest_is_200_not_created(api, clock):  # type: ignore[no-untyped-def]
    body = interaction_payload(2, occurred_at=clock.now.isoformat())
    first = api.post("/api/interactions", json=body)
    again = api.post("/api/interactions", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["results"][0]["created"] is False


def test_every_handler_that_takes_db_commits_in_its_own_thread(client):  # type: ignore[no-untyped-def]
    """`create_app` wraps each one (feedback.deps.one_transaction); none may be missed."""
    import inspect

    checked = 0
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            fn = getattr(handler.fn, "func", handler.fn)  # Litestar's run-in-a-thread wrapper
            if "db" in inspect.signature(inspect.unwrap(fn)).parameters:
                assert getattr(fn, "__one_transaction__", False), handler
                checked += 1
    assert checked > 20


def test_a_lock_wait_past_the_timeout_answers_503_not_500(api, engine, clock):  # type: ignore[no-untyped-def]
    """PostgreSQL: a row lock held longer than lock_timeout fails the statement; the request is
    rolled back and answered 503 with Retry-After (the client retries), never a 500."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers queue for the one write lock (busy_timeout)")
    body = interaction_payload(3, occurred_at=clock.now.isoformat())
    assert api.post("/api/interactions", json=body).status_code == 201
    with engine.connect() as holder:
        holder.execute(sa.text("UPDATE interaction SET agent = 'held' WHERE external_id = 'T-3'"))
        # The app gets an engine whose connections wait 200 ms instead of 10 s.
        import feedback.db as db_module

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(db_module, "LOCK_TIMEOUT_MS", 200)
            short = db_module.make_engine(engine.url.render_as_string(hide_password=False))
            api.app.state.engine = short
            try:
                response = api.post("/api/interactions", json=body)
            finally:
                api.app.state.engine = engine
                short.dispose()
        holder.rollback()
    assert response.status_code == 503
    assert response.json()["error"] == "busy"
    assert response.headers["retry-after"] == "2"
