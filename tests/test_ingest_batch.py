"""Issue #11: set-based ingest — a batch costs a handful of statements whatever its size, with
the row-by-row rules (customer matching, idempotency, opt-outs, erasure, one survey each)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import event
from sqlmodel import Session, func, select

from feedback.ingest.batch import ingest_batch
from feedback.ingest.csv_import import import_file
from feedback.ingest.schemas import InteractionIn
from outreach import optouts
from surveys.errors import Conflict
from surveys.models import Customer, Interaction, Invitation
from tests.factories import interaction_payload

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@contextmanager
def counted(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _items(n: int, start: int = 0, **over: Any) -> list[InteractionIn]:
    out = []
    for i in range(start, start + n):
        body = interaction_payload(i, **over)
        # every fifth interaction is another contact of an earlier customer
        body["customer"]["external_id"] = f"C-{i - i % 5}"
        body["occurred_at"] = (NOW - timedelta(hours=1)).isoformat()
        out.append(InteractionIn.model_validate(body))
    return out


def _count(engine: Any, model: Any) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_a_500_row_batch_is_at_most_ten_statements_new_or_retried(engine, settings):  # type: ignore[no-untyped-def]
    for attempt in range(2):
        with Session(engine) as s, counted(engine) as statements:
            results = ingest_batch(s, _items(500), now=NOW, settings=settings)
            s.commit()
        assert len(statements) <= 10, "\n".join(statements)
        assert all(r.created is (attempt == 0) for r in results)
        assert all(r.invitation is not None for r in results)
    assert _count(engine, Interaction) == 500
    assert _count(engine, Invitation) == 500
    assert _count(engine, Customer) == 100


def test_retry_updates_what_it_gives_and_keeps_the_survey(engine, settings):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        first = ingest_batch(s, _items(3), now=NOW, settings=settings)
        s.commit()
    again = _items(3, agent="Bo", customer={"name": "Ana B.", "locale": "fa"})
    again[0].team = None  # not sent: kept
    with Session(engine) as s:
        second = ingest_batch(s, again, now=NOW, settings=settings)
        s.commit()
        assert [r.invitation.token for r in second] == [r.invitation.token for r in first]  # type: ignore[union-attr]
        row = s.exec(select(Interaction).where(Interaction.external_id == "T-0")).one()
        assert (row.agent, row.team) == ("Bo", "Billing")
        assert s.exec(select(Customer).where(Customer.external_id == "C-0")).one().name == "Ana B."


def test_customers_without_external_id_match_by_phone_then_email(engine, settings):  # type: ignore[no-untyped-def]
    items = [InteractionIn.model_validate(interaction_payload(i, customer=c)) for i, c in enumerate([
        {"external_id": None, "phone": "+14155550111", "email": "a@example.com"},
        {"external_id": None, "phone": "+14155550111", "email": None},
        {"external_id": None, "phone": None, "email": "a@example.com"},
        {"external_id": None, "phone": "+14155550122", "email": "b@example.com"}])]
    with Session(engine) as s:
        results = ingest_batch(s, items, now=NOW, settings=settings)
        s.commit()
        owners = [s.get(Interaction, r.interaction_id).customer_id for r in results]  # type: ignore[union-attr]
    assert owners[0] == owners[1] == owners[2] != owners[3]
    with Session(engine) as s:  # and again, in a later batch, against the stored rows
        more = [InteractionIn.model_validate(interaction_payload(9, customer={
            "external_id": None, "phone": None, "email": "b@example.com"}))]
        [r] = ingest_batch(s, more, now=NOW, settings=settings)
        s.commit()
        assert s.get(Interaction, r.interaction_id).customer_id == owners[3]  # type: ignore[union-attr]


def test_opt_outs_and_erased_addresses_count_for_the_whole_batch(engine, settings):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        optouts.record(s, "sms", "+14155550100", source="sms", now=NOW)
        optouts.suppress(s, "gone@example.com", settings.secret_key, channel="all", now=NOW)
        s.commit()
    items = [InteractionIn.model_validate(interaction_payload(1)),  # phone opted out of SMS
             InteractionIn.model_validate(interaction_payload(2, customer={
                 "phone": None, "email": "gone@example.com"}))]
    with Session(engine) as s:
        first, erased = ingest_batch(s, items, now=NOW, settings=settings)
        s.commit()
    assert first.invitation is not None and first.invitation.channel == "email"
    assert erased.invitation is None and "erased" in (erased.note or "")


def test_an_interaction_cannot_move_to_another_customer(engine, settings):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        ingest_batch(s, _items(1), now=NOW, settings=settings)
        s.commit()
    moved = InteractionIn.model_validate(interaction_payload(0, customer={"external_id": "C-other"}))
    with Session(engine) as s, pytest.raises(Conflict, match="belongs to customer C-0"):
        ingest_batch(s, [moved], now=NOW, settings=settings)


def _csv(tmp_path: Path, rows: int, repeat: int = 0) -> Path:
    lines = ["external_id,channel,occurred_at,agent,customer_external_id,customer_phone"]
    for i in list(range(rows)) + list(range(repeat)):
        agent = "second" if i < repeat and len(lines) > rows else "first"
        lines.append(f"T{i},phone,2026-03-10T09:00:00Z,{agent},C{i % 50},+1415555{i % 10000:04d}")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_import_streams_in_batches_and_a_later_row_updates_an_earlier(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    path = _csv(tmp_path, 1200, repeat=3)
    out = io.StringIO()
    with counted(engine) as statements:
        report = import_file(engine, settings, path, console=Console(file=out, force_terminal=False))
    assert (report.rows, report.imported, report.created) == (1203, 1203, 1200)
    assert len(statements) < 60  # three batches of 500 and a few short ones, not 6 per row
    assert out.getvalue().startswith("importing big.csv")  # a plain line when not a terminal
    with Session(engine) as s:
        assert s.exec(select(Interaction).where(Interaction.external_id == "T1")).one().agent == "second"
    assert _count(engine, Interaction) == 1200


def test_a_bad_row_late_in_a_big_file_still_imports_nothing(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    path = _csv(tmp_path, 1100)
    path.write_text(path.read_text() + "T-bad,fax,2026-03-10T09:00:00Z,x,C1,\n")
    with pytest.raises(Exception, match="1 problem"):
        import_file(engine, settings, path)
    assert _count(engine, Interaction) == 0


def test_one_of_matches_keys_exactly(engine, settings):  # type: ignore[no-untyped-def]
    """The batch look-ups' IN (one JSON parameter on PostgreSQL): a key longer than the column
    is not cut to its length (and so matched to another row); integer keys work too."""
    from surveys.sql import one_of

    with Session(engine) as s:
        ingest_batch(s, _items(2), now=NOW, settings=settings)
        full = "E" * 200  # the column's whole length
        s.add(Customer(external_id=full, created_at=NOW, updated_at=NOW))
        s.commit()
        c = Customer.__table__.c  # type: ignore[attr-defined]
        assert s.execute(select(c.id).where(one_of(s, c.external_id, [full + "x"]))).all() == []
        assert len(s.execute(select(c.id).where(one_of(s, c.external_id, [full, "nobody"]))).all()) == 1
        ids = list(s.exec(select(Interaction.id)).all())
        t = Interaction.__table__.c  # type: ignore[attr-defined]
        assert sorted(r.id for r in s.execute(select(t.id).where(one_of(s, t.id, ids))).all()) == sorted(ids)
