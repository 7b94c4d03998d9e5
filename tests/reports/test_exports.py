"""Streamed CSV exports: content, filters, spreadsheet-formula guard, and that rows are pulled
batch by batch rather than loaded first."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlmodel import Session, func, select

from feedback.recovery.models import RecoveryTask
from feedback.reports import exports
from feedback.reports.figures import make_filters
from tests.reports.conftest import answer


def _rows(r) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 names correctly
    assert r.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_response_export_content_filters_and_formula_guard(api, session, settings, clock):  # type: ignore[no-untyped-def]
    answer(session, settings, clock.now, 1, "nps", 2, comment="=HYPERLINK(\"http://x\",\"y\")",
           agent="@SUM(A1)", team="Billing")
    answer(session, settings, clock.now + timedelta(minutes=1), 2, "csat", 5, comment="非常好 👍",
           team="Support")
    rows = _rows(api.get("/api/reports/export/responses", params={"from": "2026-03-01"}))
    assert [r["kind"] for r in rows] == ["nps", "csat"]
    first = rows[0]
    assert first["comment"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert first["agent"] == "'@SUM(A1)"
    assert first["score"] == "2" and first["classification"] == "detractor"
    assert "themes" in first and first["themes"] == ""
    assert rows[1]["comment"] == "非常好 👍"
    only = _rows(api.get("/api/reports/export/responses", params={"from": "2026-03-01", "team": "Support"}))
    assert [r["id"] for r in only] == [rows[1]["id"]]
    none = _rows(api.get("/api/reports/export/responses", params={"from": "2026-01-01", "to": "2026-01-31"}))
    assert none == []


def test_response_export_streams_batch_by_batch(engine, session, settings, clock, monkeypatch):  # type: ignore[no-untyped-def]
    for n in range(5):
        answer(session, settings, clock.now + timedelta(minutes=n), n + 1, "nps", 9)
    monkeypatch.setattr(exports, "BATCH", 2)
    seen: list[list[int]] = []
    real = exports.themes_source.themes_for_responses
    monkeypatch.setattr(exports.themes_source, "themes_for_responses",
                        lambda conn, ids: seen.append(ids) or real(conn, ids))
    chunks = exports.responses_csv(engine, make_filters(clock.now, "2026-03-01", tz=None))
    first = next(chunks)
    assert first.count(b"\r\n") == 3  # header + one batch of 2 rows …
    assert len(seen) == 1  # … and only that batch has been read so far
    rest = list(chunks)
    assert len(rest) == 2 and len(seen) == 3
    assert sum(c.count(b"\r\n") for c in [first, *rest]) == 6


def test_task_export_lists_the_tasks_of_the_period(api, session, settings, clock):  # type: ignore[no-untyped-def]
    answer(session, settings, clock.now, 1, "nps", 1, comment="@cmd|' /C calc'!A0", team="Billing")
    answer(session, settings, clock.now, 2, "nps", 10, team="Billing")
    with Session(api.app.state.engine) as s:
        expected = s.exec(select(func.count()).select_from(RecoveryTask)).one()
    rows = _rows(api.get("/api/reports/export/tasks", params={"from": "2026-03-01"}))
    assert len(rows) == expected == 1
    assert rows[0]["team"] == "Billing" and rows[0]["score"] == "1"
    assert rows[0]["status"] and rows[0]["first_contact_due_at"].startswith("2026-03-1")
    assert _rows(api.get("/api/reports/export/tasks", params={"from": "2026-03-01", "team": "Support"})) == []
