"""Issue #10: the OpenAPI document tells the truth — one error schema that is what errors
are, allowed values declared, CSV documented as CSV — and its tables follow the routes."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture
def doc(client: Any) -> dict[str, Any]:
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def _ops(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items()
            for method, op in item.items() if path.startswith("/api/")]


def test_one_error_schema_matching_what_errors_are(doc: dict[str, Any], api: Any) -> None:
    assert '"detail"' not in json.dumps(doc)  # Litestar's own error shape is gone
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message"]
    for path, method, op in _ops(doc):
        for status in ("400", "401", "403", "422", "default"):
            content = op["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (path, method)
    body = api.get("/api/recovery/tasks/999").json()  # what an error really is
    assert set(body) <= set(error["properties"]) | {"errors"} and {"error", "message"} <= set(body)


def test_allowed_values_are_declared(doc: dict[str, Any]) -> None:
    def schema(path: str, name: str) -> dict[str, Any]:
        params = doc["paths"][path]["get"]["parameters"]
        return next(p["schema"] for p in params if p["name"] == name)

    assert "overdue" in schema("/api/recovery/tasks", "status")["enum"]
    assert schema("/api/kpis", "kind")["enum"] == ["csat", "nps", "ces"]
    assert "kind" in schema("/api/kpis", "group_by")["enum"]
    assert schema("/api/reports/dashboard", "grain")["enum"] == ["day", "week", "month"]
    assert "loop-teams" in schema("/api/reports/csv/{chart}", "chart")["enum"]
    assert schema("/api/recovery/tasks/{task_id}", "task_id") == {
        "type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert schema("/api/reports/export/responses", "from")["type"] == "string"


def test_every_enum_entry_names_a_real_parameter(doc: dict[str, Any]) -> None:
    from feedback.openapi import _enums

    for prefix, name in _enums():
        found = [p for path, _, op in _ops(doc) if path.startswith(prefix)
                 for p in op.get("parameters", []) if p["name"] == name]
        assert found, f"no operation under {prefix!r} has a parameter {name!r}"


def test_csv_downloads_are_documented_as_csv(doc: dict[str, Any]) -> None:
    csv_ops = [(p, op) for p, _, op in _ops(doc) if p.startswith(("/api/reports/csv/",
                                                                   "/api/reports/export/"))]
    assert len(csv_ops) >= 4
    for path, op in csv_ops:
        assert list(op["responses"]["200"]["content"]) == ["text/csv"], path
