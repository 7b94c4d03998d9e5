"""Issue #10, "no input reaches a 500": every hostile input found by hand or by the fuzzer is
answered with a 4xx naming the field (on SQLite and PostgreSQL), never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import interaction_payload, make_invitation

BIG = 2**31  # one past PostgreSQL's integer


def _assert_error(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "message"}
    if field is not None:
        assert body.get("field") == field, body
    return body


# --- ids out of range ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/api/recovery/tasks/{BIG}", "/api/recovery/tasks/-1", "/api/recovery/tasks/0",
    f"/api/customers/{BIG}/contact-log", "/api/customers/99999999999999999999/contact-log",
])
def test_path_ids_out_of_range_are_404(api: Any, path: str) -> None:
    _assert_error(api.get(path), 404)


@pytest.mark.parametrize("path", [f"/api/recovery/tasks/{BIG}/claim",
                                  f"/api/themes/{BIG}/merge", f"/api/responses/{BIG}/themes"])
def test_path_ids_out_of_range_are_404_on_writes(api: Any, path: str) -> None:
    method = api.put if path.endswith("/themes") else api.post
    _assert_error(method(path, json={}), 404)


@pytest.mark.parametrize("query,field", [("page=99999999999999999999", "page"),
                                         ("page=-3", "page"), ("per_page=2147483648", "per_page"),
                                         (f"owner_id={BIG}", "owner_id")])
def test_query_ids_out_of_range_are_422(api: Any, query: str, field: str) -> None:
    _assert_error(api.get(f"/api/recovery/tasks?{query}"), 422, field)


def test_body_ids_out_of_range_are_422(api: Any, session: Any, settings: Any, clock: Any,
                                      engine: Any) -> None:
    from sqlmodel import select

    from feedback.recovery.models import RecoveryTask
    from feedback.responses import record_response
    from tests.support.followups import run_followups

    inv = make_invitation(session, settings, clock.now)
    record_response(session, inv, score=2, comment=None, source="web", now=clock.now,
                    settings=settings)
    session.commit()
    run_followups(engine, settings, clock)
    task = session.exec(select(RecoveryTask)).one()
    r = api.post(f"/api/recovery/tasks/{task.id}/assign", json={"user_id": BIG})
    _assert_error(r, 422, "user_id")
    theme = api.post("/api/themes", json={"name": "Billing"}).json()
    _assert_error(api.post(f"/api/themes/{theme['id']}/merge", json={"into": BIG}), 422, "into")
    r = api.post(f"/api/themes/{theme['id']}/split", json={"name": "x", "response_ids": [BIG]})
    _assert_error(r, 422, "response_ids.0")


# --- dates at the calendar's ends ----------------------------------------------------------------

@pytest.mark.parametrize("when", ["9999-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00",
                                  "3000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_occurred_at_outside_1970_to_a_year_ahead_is_422(api: Any, when: str) -> None:
    r = api.post("/api/interactions", json=interaction_payload(1, occurred_at=when))
    body = _assert_error(r, 422, "occurred_at")
    assert "between 1970-01-01" in body["message"]


def test_occurred_at_within_the_window_is_accepted(api: Any, clock: Any) -> None:
    soon = clock.now.replace(year=clock.now.year + 1).isoformat()  # ahead, but within a year+1d
    assert api.post("/api/interactions",
                    json=interaction_payload(1, occurred_at=soon)).status_code == 201


@pytest.mark.parametrize("path", ["/api/reports/dashboard", "/api/reports/export/responses",
                                  "/api/kpis", "/api/reports/loop"])
@pytest.mark.parametrize("query", ["from=9999-12-30", "from=9999-12-30&to=9999-12-31",
                                   "to=0001-01-01", "from=0001-01-01&to=0001-01-02"])
def test_report_dates_at_the_calendars_ends_are_refused(api: Any, path: str, query: str) -> None:
    r = api.get(f"{path}?{query}")
    assert r.status_code in (400, 422), r.text
    assert r.json()["field"] in ("from", "to")


# --- control characters --------------------------------------------------------------------------

@pytest.mark.parametrize("over,field", [
    ({"agent": "Tom\x00"}, "agent"),
    ({"external_id": "T\x00-1"}, "external_id"),
    ({"customer": {"name": "Ana\x00Lima"}}, "customer.name"),
    ({"metadata": {"ticket\x01": "x"}}, "metadata.ticket"),
])
def test_control_characters_in_ingested_text_are_refused_naming_the_field(
        api: Any, over: dict[str, Any], field: str) -> None:
    body = _assert_error(api.post("/api/interactions", json=interaction_payload(1, **over)),
                         422, field)
    assert "control characters" in body["message"]
    assert api.get("/api/recovery/tasks").status_code == 200  # nothing half-written


def test_control_characters_in_a_batch_name_the_item(api: Any) -> None:
    batch = {"interactions": [interaction_payload(1), interaction_payload(2, team="B\x00")]}
    _assert_error(api.post("/api/interactions", json=batch), 422, "interactions[1].team")


def test_control_characters_in_query_values_are_refused(api: Any) -> None:
    _assert_error(api.get("/api/recovery/tasks?team=Bil%00ling"), 422, "team")
    _assert_error(api.get("/api/reports/dashboard?agent=%07"), 422, "agent")


def test_tab_and_newline_are_ordinary_text(api: Any) -> None:
    r = api.post("/api/interactions", json=interaction_payload(1, agent="Tom\tLee",
                                                               queue="line1\r\nline2"))
    assert r.status_code == 201, r.text


def test_nul_in_a_survey_comment_is_dropped_and_the_answer_kept(
        client: Any, session: Any, settings: Any, clock: Any) -> None:
    from sqlmodel import select

    from surveys.models import Response

    inv = make_invitation(session, settings, clock.now)
    r = client.post(f"/s/{inv.token}", data={"score": "9", "comment": "gr\x00eat"},
                    headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    assert session.exec(select(Response)).one().comment == "great"
    assert client.get("/s/bad%00token", headers={"accept": "text/html"}).status_code == 404


def test_nul_in_a_staff_form_is_refused_naming_the_field(client: Any) -> None:
    client.get("/login")
    r = client.post("/login", data={"email": "a\x00@example.com", "password": "x",
                                    "_csrf_token": client.cookies.get("csrftoken")},
                    headers={"accept": "text/html"})
    assert r.status_code == 422 and "email" in r.text


# --- credentials, body shape, content type -------------------------------------------------------

@pytest.mark.parametrize("header", [{"Authorization": "Bearer clé".encode()},
                                    {"X-API-Key": "ключ".encode()}])
def test_non_ascii_api_key_is_401(client: Any, header: dict[str, Any]) -> None:
    _assert_error(client.get("/api/recovery/tasks", headers=header), 401)


def test_json_nested_100000_levels_deep_is_400(api: Any) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = _assert_error(api.post("/api/interactions", content=deep,
                                  headers={"content-type": "application/json"}), 400, "body")
    assert "nested deeper" in body["message"]


def test_json_body_sent_as_text_plain_is_415(api: Any) -> None:
    r = api.post("/api/interactions", content=json.dumps(interaction_payload(1)),
                 headers={"content-type": "text/plain"})
    _assert_error(r, 415, "content-type")
    assert api.get("/api/recovery/tasks").status_code == 200


def test_405_carries_allow(api: Any) -> None:
    r = api.delete("/api/interactions")
    _assert_error(r, 405)
    assert "POST" in r.headers["allow"]


def test_kpis_grouped_by_kind(api: Any, session: Any, settings: Any, clock: Any) -> None:
    """Found by the fuzzer: group_by=kind was a 500 (the kind is the key and the measure)."""
    from feedback.responses import record_response

    inv = make_invitation(session, settings, clock.now)
    record_response(session, inv, score=9, comment=None, source="web", now=clock.now,
                    settings=settings)
    session.commit()
    r = api.get("/api/kpis", params={"group_by": "kind", "kind": ""})
    assert r.status_code == 200, r.text
    assert [g["key"] for g in r.json()["groups"]] == ["nps"]
