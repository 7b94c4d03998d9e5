"""Issue #10: an export that fails says so. Before the first byte → an ordinary error response;
after streaming began → the connection is aborted (and logged), so the client can never take a
truncated file for a complete one."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from feedback.reports import exports, themes_source
from tests.reports.conftest import answer


def _failing_themes(monkeypatch: pytest.MonkeyPatch, fail_on_call: int) -> None:
    real = themes_source.themes_for_responses
    calls = {"n": 0}

    def flaky(conn: Any, ids: list[int]) -> Any:
        calls["n"] += 1
        if calls["n"] >= fail_on_call:
            raise RuntimeError("the database went away")
        return real(conn, ids)

    monkeypatch.setattr(themes_source, "themes_for_responses", flaky)


def test_a_failure_before_the_first_byte_is_an_error_response(
        api: Any, session: Any, settings: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answer(session, settings, clock.now, 1)
    _failing_themes(monkeypatch, fail_on_call=1)
    r = api.get("/api/reports/export/responses", params={"from": "2026-03-01"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == "internal_error"


def test_bad_filters_are_refused_before_streaming(api: Any) -> None:
    r = api.get("/api/reports/export/responses", params={"from": "2026-13-45"})
    assert r.status_code == 400 and r.json()["field"] == "from"


def test_a_failure_mid_stream_aborts_the_connection_and_is_logged(
        live_server: Any, session: Any, settings: Any, clock: Any,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    for n in range(1, 7):
        answer(session, settings, clock.now, n)
    monkeypatch.setattr(exports, "BATCH", 2)
    _failing_themes(monkeypatch, fail_on_call=2)  # the first batch streams, the second fails
    headers = {"Authorization": "Bearer test-admin-key"}
    with caplog.at_level(logging.ERROR), pytest.raises(httpx.RemoteProtocolError), \
            httpx.stream("GET", f"{live_server.url}/api/reports/export/responses",
                         params={"from": "2026-03-01"}, headers=headers, timeout=30) as r:
        assert r.status_code == 200  # the status was sent with the first chunk
        b"".join(r.iter_bytes())
    assert any("aborting the download" in rec.getMessage() for rec in caplog.records)


def test_csv_content_type_names_its_charset_once(api: Any) -> None:
    r = api.get("/api/reports/export/kpis")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
