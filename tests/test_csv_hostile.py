"""Issue #10: a CSV import reports every hostile row by its line, imports nothing, never a 500
or a silent import into the wrong columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from feedback.ingest.csv_import import ImportFailed, import_file
from surveys.models import Interaction

HEADER = "external_id,channel,occurred_at,agent,customer_external_id,customer_name\n"


def _import(engine, settings, tmp_path: Path, body: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + body).encode())
    return import_file(engine, settings, path)


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Interaction)).one()


def test_unterminated_quote_is_reported_by_its_line(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    body = ("T1,phone,2026-11-01T09:00:00Z,Ana,C1,Ann\n"
            'T2,phone,2026-11-01T09:00:00Z,Ana,C2,"Bob\n'
            "T3,phone,2026-11-01T09:00:00Z,Ana,C3,Cy\n")
    with pytest.raises(ImportFailed, match="line 3: .*unterminated quote"):
        _import(engine, settings, tmp_path, body)
    assert _count(engine) == 0


def test_text_after_a_closing_quote_is_reported_by_line(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    body = 'T1,phone,2026-11-01T09:00:00Z,Ana,C1,"Ann"x\n'
    with pytest.raises(ImportFailed, match="line 2: not valid CSV"):
        _import(engine, settings, tmp_path, body)


def test_control_characters_and_calendar_ends_are_reported_by_line(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    body = ("T1,phone,2026-11-01T09:00:00Z,An\x00a,C1,Ann\n"
            "T2,phone,9999-12-31T23:59:59Z,Ana,C2,Bob\n"
            "T3,phone,0001-01-01T00:30:00+01:00,Ana,C3,Cy\n"
            "T4,phone,2026-11-01T09:00:00Z,Ana,C\x1b4,Di\n"
            "T5,phone,yesterday,Ana,C5,Ed\n")
    with pytest.raises(ImportFailed) as err:
        _import(engine, settings, tmp_path, body)
    joined = "\n".join(err.value.errors)
    assert "line 2: agent: control characters" in joined
    assert "line 3: occurred_at: must be between 1970-01-01" in joined
    assert "line 4: occurred_at: must be between 1970-01-01" in joined
    assert "line 5: customer_external_id: control characters" in joined
    assert "line 6: occurred_at" in joined
    assert _count(engine) == 0
