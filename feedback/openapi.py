"""The OpenAPI document tells the truth about what the API returns.

Litestar generates the paths from the handlers; this module corrects what it cannot know:
- every error has ONE shape, `Error` (`{error, message, field?, errors?, …}`, rendered by
  `feedback.errors` from `surveys.errors.DomainError`), documented on every operation for the
  statuses it may answer and as `default`, instead of Litestar's `{status_code, detail}`;
- query values with a fixed set of choices are declared as enums, integer ids with their
  bounds (`feedback.edge.MAX_ID`), and the report filters that handlers read from the query
  string themselves are declared at all;
- CSV downloads are documented as `text/csv`, not as JSON.

`document(app)` runs once at start-up (the app's lifespan) and replaces the served schema.
`tests/test_openapi.py` keeps the tables below in step with the routes.
"""

from __future__ import annotations

import copy
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin

from feedback.edge import MAX_ID

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "stable machine code, e.g. not_found"},
        "message": {"type": "string", "description": "what went wrong, for people"},
        "field": {"type": "string", "description": "the input at fault (JSON path or parameter)"},
        "errors": {"type": "array", "description": "every problem, when there are several",
                   "items": {"type": "object", "properties": {
                       "field": {"type": ["string", "null"]}, "message": {"type": ["string", "null"]}}}},
    },
    "additionalProperties": True,
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_REASONS = {
    "400": "Bad request: a malformed value or filter (names the field)",
    "401": "No or invalid credentials",
    "403": "The caller's role or team may not do this",
    "404": "No such resource (ids outside 1…2^31−1 included)",
    "409": "Conflicts with the current state (e.g. someone was quicker)",
    "415": "The body is not application/json",
    "422": "The body or a parameter fails validation (names the field)",
    "default": "Any other error, in the same shape",
}
CSV_PATHS = ("/api/reports/csv/", "/api/reports/export/", "/api/audit/export")
CSV_DESCRIPTION = ("CSV, UTF-8 with a byte-order mark, CRLF line ends; cells a spreadsheet "
                   "would run as formulas are prefixed with '")


def _enums() -> dict[tuple[str, str], list[str]]:
    """(path prefix, parameter) → allowed values; '' matches every path."""
    from feedback.kpis import GROUPS
    from feedback.recovery import metrics
    from feedback.recovery.models import Priority
    from feedback.recovery.repository import STATUS_CHOICES
    from feedback.reports.endpoints import CHARTS
    from feedback.reports.service import BREAKDOWNS, GRAINS
    from outreach import optouts
    from surveys.scoring import SurveyKind

    kinds = [k.value for k in SurveyKind]
    return {
        ("", "kind"): kinds,
        ("/api/kpis", "group_by"): list(GROUPS),
        ("/api/reports/export/kpis", "group_by"): list(GROUPS),
        ("/api/recovery/metrics", "group_by"): list(metrics.GROUPS),
        ("/api/recovery/tasks", "status"): list(STATUS_CHOICES),
        ("/api/recovery/tasks", "priority"): [p.value for p in Priority],
        ("/api/recovery/tasks", "mine"): ["true", "false"],
        ("/api/recovery/tasks", "unassigned"): ["true", "false"],
        ("/api/reports/csv/", "chart"): list(CHARTS),
        ("/api/reports/dashboard", "grain"): list(GRAINS),
        ("/api/reports/csv/", "grain"): list(GRAINS),
        ("/api/reports/themes", "grain"): ["week", "month"],
        ("/api/reports/dashboard", "by"): list(BREAKDOWNS),
        ("/api/reports/breakdown", "by"): list(BREAKDOWNS),
        ("/api/reports/csv/", "by"): list(BREAKDOWNS),
        ("/api/outbox", "channel"): ["sms", "email"],
        ("/api/opt-outs", "channel"): list(optouts.CHANNELS),
        ("/api/integrations/endpoints", "status"): ["pending", "sending", "sent", "failed"],
    }


_FILTERS = [("from", "first day, inclusive (YYYY-MM-DD, 1970-01-01…2999-12-31; default 29 days "
             "before `to`)"), ("to", "last day, inclusive (YYYY-MM-DD; default today)"),
            ("kind", "survey kind"), ("team", "team"), ("channel", "interaction channel"),
            ("agent", "agent"), ("queue", "queue")]
# Report endpoints read these from the query string themselves (one parser for pages and API).
_EXTRA_QUERY = {
    "/api/reports/dashboard": ["grain", "by"],
    "/api/reports/breakdown": ["by"],
    "/api/reports/themes": ["grain"],
    "/api/reports/themes/{theme}": ["page"],
    "/api/reports/csv/{chart}": ["grain", "by"],
    "/api/reports/export/kpis": ["group_by"],
}


def _param(name: str, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


def _enum_for(path: str, name: str, table: dict[tuple[str, str], list[str]]) -> list[str] | None:
    for (prefix, param), values in table.items():
        if param == name and path.startswith(prefix):
            return values
    return None


def _fix_parameters(path: str, op: dict[str, Any], table: dict[tuple[str, str], list[str]]) -> None:
    params = op.setdefault("parameters", [])
    have = {(p.get("in"), p.get("name")) for p in params}
    if path.startswith("/api/reports/"):
        for name, text in _FILTERS + [(n, "") for n in _EXTRA_QUERY.get(path, [])]:
            if ("query", name) not in have:
                params.append(_param(name, text))
    for p in params:
        schema = p.get("schema") or {}
        if p.get("in") == "path" and _is_int(schema):
            p["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
            continue
        values = _enum_for(path, p["name"], table)
        if values is not None:
            p["schema"] = {"type": "string", "enum": values}
        elif p["name"] in ("page", "per_page", "owner_id", "limit"):
            p["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    if not params:
        op.pop("parameters")


def _is_int(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(
        s.get("type") == "integer" for s in schema.get("oneOf", []))


def _fix_responses(path: str, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    for status in list(responses):
        if status.startswith(("4", "5")):
            del responses[status]
    codes = ["400", "401", "403", "422", "default"]
    if "{" in path:
        codes.append("404")
    if "requestBody" in op:
        codes += ["409", "415"]
    for code in codes:
        responses[code] = {"description": _REASONS[code],
                           "content": {"application/json": {"schema": _ERROR_REF}}}
    if path.startswith(CSV_PATHS):
        for status, response in responses.items():
            if status.startswith("2"):
                response["description"] = CSV_DESCRIPTION
                response["content"] = {"text/csv": {"schema": {"type": "string"}}}


def truthful(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    table = _enums()
    for path, item in out.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                _fix_parameters(path, op, table)
                _fix_responses(path, op)
    from feedback.integrations.events import openapi_webhooks

    out["webhooks"] = openapi_webhooks()  # what subscribers receive (feedback/integrations)
    return out


def document(app: Litestar) -> None:
    """Replace the served /schema/openapi.json with the corrected document."""
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin._openapi_schema = truthful(plugin.provide_openapi().to_schema())
