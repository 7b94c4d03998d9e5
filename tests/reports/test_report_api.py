"""Report API and pages over a small hand-checkable data set: the dashboard shows the figures
/api/kpis gives for the same filters, every chart's CSV holds the API's figures, bad filters
answer 400 naming the parameter, and only leads (and admins) get in."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlmodel import Session

from feedback.auth.service import create_api_key
from tests.test_kpis_api import answers  # noqa: F401  (the shared 18-answer fixture)

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def _csv(r) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def _tile_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-kpi="(\w+)" data-value="([^"]*)"', html))


@pytest.mark.parametrize("filters", [MARCH, {**MARCH, "team": "Billing"}, {**MARCH, "kind": "nps"},
                                     {**MARCH, "channel": "phone"}])
def test_dashboard_page_shows_the_api_figures(api, answers, filters):  # type: ignore[no-untyped-def]  # noqa: F811
    kpis = api.get("/api/kpis", params=filters).json()["overall"]
    page = api.get("/reports", params=filters)
    assert page.status_code == 200, page.text
    tiles = _tile_values(page.text)
    for key in ("nps", "csat", "ces"):
        expected = (kpis.get(key) or {}).get("value")
        assert tiles[key] == ("" if expected is None else str(expected)), key
    assert tiles["response_rate"] == str(kpis["response_rate"]["value"])
    board = api.get("/api/reports/dashboard", params=filters).json()
    by_key = {t["key"]: t for t in board["tiles"]}
    assert by_key["nps"]["value"] == (kpis.get("nps") or {}).get("value")
    assert board["responses"] == kpis["responses"]


def test_filters_change_the_figures(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    billing = api.get("/api/reports/dashboard", params={**MARCH, "team": "Billing", "kind": "nps"}).json()
    support = api.get("/api/reports/dashboard", params={**MARCH, "team": "Support", "kind": "nps"}).json()
    assert billing["tiles"][0]["value"] == pytest.approx(100.0)
    assert support["tiles"][0]["value"] == pytest.approx(-40.0)


def test_breakdown_and_trend_csv_match_the_api(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    rows = api.get("/api/reports/breakdown", params={**MARCH, "by": "team"}).json()["rows"]
    table = _csv(api.get("/api/reports/csv/breakdown", params={**MARCH, "by": "team"}))
    assert [r["team"] for r in table] == [r["key"] for r in rows] == ["Billing", "Support"]
    for line, row in zip(table, rows, strict=True):
        assert float(line["nps"]) == row["nps"]["value"]
        assert int(line["responses"]) == row["responses"]
    trend = _csv(api.get("/api/reports/csv/trend", params={**MARCH, "grain": "month"}))
    assert [t["bucket"] for t in trend] == ["2026-03-01"]
    assert float(trend[0]["nps"]) == pytest.approx(30.0) and trend[0]["responses"] == "18"
    tiles = {t["kpi"]: t for t in _csv(api.get("/api/reports/csv/tiles", params=MARCH))}
    assert float(tiles["csat"]["value"]) == pytest.approx(75.0)


def test_heatmap_counts_every_answer_in_the_local_hour_of_its_interaction(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    h = api.get("/api/reports/heatmap", params=MARCH).json()
    # The interactions took place on Tuesday 2026-03-10 at 11:00 UTC; the answers came at noon.
    assert h["n"][1][11] == 18 and h["n"][1][12] == 0
    assert h["negative"][1][11] == 2 + 1 + 1  # detractors, dissatisfied, difficult
    cells = _csv(api.get("/api/reports/csv/heatmap", params=MARCH))
    assert len(cells) == 7 * 24
    tuesday_eleven = next(c for c in cells if c["weekday"] == "Tue" and c["hour"] == "11")
    assert tuesday_eleven["responses"] == "18"


def test_kpi_table_export(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    rows = _csv(api.get("/api/reports/export/kpis", params={**MARCH, "group_by": "team"}))
    assert {r["team"]: float(r["nps"]) for r in rows} == {"Billing": 100.0, "Support": -40.0}
    overall = _csv(api.get("/api/reports/export/kpis", params=MARCH))
    assert overall[0]["scope"] == "all" and overall[0]["responses"] == "18"


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/api/reports/dashboard", {"from": "2026-13-01"}, "from"),
    ("/api/reports/dashboard", {"to": "yesterday"}, "to"),
    ("/api/reports/dashboard", {"from": "2026-03-10", "to": "2026-03-01"}, "from"),
    ("/api/reports/dashboard", {"kind": "xps"}, "kind"),
    ("/api/reports/dashboard", {"grain": "hour"}, "grain"),
    ("/api/reports/dashboard", {"by": "customer"}, "by"),
    ("/api/reports/breakdown", {"team": "x" * 201}, "team"),
    ("/api/reports/heatmap", {"from": "2020-01-01", "to": "2026-01-01"}, "from"),
    ("/api/reports/themes", {"grain": "day"}, "grain"),
    ("/api/reports/themes/billing", {"page": "0"}, "page"),
    ("/api/reports/csv/pie", {}, "chart"),
    ("/api/reports/export/kpis", {"group_by": "colour"}, "group_by"),
    ("/api/reports/export/responses", {"kind": "nope"}, "kind"),
])
def test_bad_filter_is_400_naming_the_field(api, path, query, field):  # type: ignore[no-untyped-def]
    r = api.get(path, params=query)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


def test_bad_filter_on_a_page_is_a_400_page(api):  # type: ignore[no-untyped-def]
    r = api.get("/reports", params={"from": "soon"}, headers={"Accept": "text/html"})
    assert r.status_code == 400 and "from must be a date" in r.text


@pytest.mark.parametrize("path", ["/reports", "/reports/themes", "/reports/loop",
                                  "/api/reports/dashboard", "/api/reports/export/responses",
                                  "/api/reports/csv/trend"])
def test_only_leads_and_admins(client, engine, path):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        _, lead = create_api_key(s, "lead", "lead")
        _, agent = create_api_key(s, "agent", "recovery")
        s.commit()
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": agent}).status_code == 403
    assert client.get(path, headers={"X-API-Key": lead}).status_code == 200
    assert client.get(path, headers={"X-API-Key": "test-admin-key"}).status_code == 200


def test_pages_render_charts_and_links_keep_the_filters(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    page = api.get("/reports", params={**MARCH, "team": "Billing", "by": "channel"}).text
    assert page.count("<svg") >= 4  # trend, breakdown, heatmap and sparklines
    assert "/api/reports/csv/breakdown?from=2026-03-01&amp;to=2026-03-31&amp;team=Billing" in page
    assert "by=channel" in page
    for path in ("/reports/themes", "/reports/loop"):
        r = api.get(path, params=MARCH)
        assert r.status_code == 200, r.text
