"""The theme report renders what `feedback.insights.analytics` returns: a stand-in with its
documented shape is plugged into the adapter, so the page's ranking, links and escaping are
checked against known figures; before any comment has a theme the pages say so instead of
showing empty charts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session

from feedback.reports import themes_source
from tests.reports.conftest import answer

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def _report(rid: int) -> dict[str, Any]:
    theme = {"theme": "billing error", "count": 12, "commented": 30, "share": 0.4,
             "share_interval": [0.25, 0.58], "unhappy": 0.75, "unhappy_interval": [0.47, 0.91],
             "enough_data": True, "impact_interval": [-30.0, -7.0],
             "sentiment": {"negative": 9, "neutral": 2, "positive": 1}, "impact": -18.5,
             "key_driver": -12.0, "mean_score": 3.1, "emerging": True,
             "examples": [{"response_id": rid, "comment": "charged twice <b>again</b>",
                           "sentiment": "negative", "confidence": 0.9,
                           "submitted_at": "2026-03-10T12:00:00+00:00"}]}
    return {"themes": [theme, {**theme, "theme": "friendly staff", "count": 8, "impact": 9.0,
                               "emerging": False, "examples": []},
                       {**theme, "theme": "parking", "count": 2, "impact": None,
                        "share": 0.0667, "unhappy": None, "enough_data": False,
                        "share_interval": [0.02, 0.21], "unhappy_interval": [None, None],
                        "impact_interval": [None, None], "emerging": False, "examples": []}],
            "emerging": [{"theme": "billing error", "share": 0.4, "baseline_share": 0.1,
                          "z": 3.2, "p_value": 0.001, "count": 12}],
            "buckets": [{"start": "2026-03-02", "comments": 10,
                         "themes": {"billing error": {"count": 2, "share": 0.2}}},
                        {"start": "2026-03-09", "comments": 20,
                         "themes": {"billing error": {"count": 10, "share": 0.5}}}]}


@pytest.fixture
def insights(monkeypatch, session, settings, clock):  # type: ignore[no-untyped-def]
    detractor = answer(session, settings, clock.now, 1, "nps", 2, comment="charged twice")
    analytics = SimpleNamespace(
        has_links=lambda s: True,
        report=lambda s, f, grain, examples: _report(detractor.id),
        responses=lambda s, theme, f, limit, offset: (
            {"theme": {"id": 1, "name": theme, "status": "active"}, "total": 1,
             "responses": [{"id": detractor.id, "submitted_at": "2026-03-10T12:00:00+00:00",
                            "kind": "nps", "score": 2, "classification": "detractor",
                            "comment": "charged twice", "sentiment": "negative",
                            "confidence": 0.9, "source": "model"}]}
            if theme == "billing error" else {"theme": None, "responses": [], "total": 0}),
        themes_for_responses=lambda s, ids: {i: ["billing error"] for i in ids},
        theme_names=lambda s: ["billing error", "friendly staff"],
    )
    monkeypatch.setattr(themes_source, "analytics", analytics)
    return detractor


def test_theme_page_ranks_links_and_flags(api, insights):  # type: ignore[no-untyped-def]
    page = api.get("/reports/themes", params=MARCH)
    assert page.status_code == 200, page.text
    html = page.text
    assert html.index('data-theme="billing error"') < html.index('data-theme="friendly staff"')
    assert "emerging" in html and "40.0 %" in html and "75.0 % unhappy" in html
    parking = html[html.index('data-theme="parking"'):]
    assert "no data" in parking and "0.0 %" not in parking and "unhappy" in parking
    assert "charged twice &lt;b&gt;again&lt;/b&gt;" in html  # verbatims are escaped
    assert "/queue/" in html  # the detractor's verbatim links to its recovery task
    assert html.count("fb-chart--bar") >= 2 and "fb-chart--spark" in html
    table = list(csv.DictReader(io.StringIO(
        api.get("/api/reports/csv/themes", params=MARCH).content.decode("utf-8-sig"))))
    assert [(t["theme"], t["responses"], t["impact_points"]) for t in table] == [
        ("billing error", "12", "-18.5"), ("friendly staff", "8", "9.0"), ("parking", "2", "")]


def test_drill_down_and_export_themes(api, insights):  # type: ignore[no-untyped-def]
    page = api.get("/reports/themes/billing%20error", params=MARCH)
    assert page.status_code == 200 and f'id="r{insights.id}"' in page.text
    # A date a person reads, in the report's zone, not the raw ISO timestamp; the drill-down
    # filters by date range, team, agent, channel (the shared form) and score class.
    row = page.text[page.text.index(f'id="r{insights.id}"'):]
    row = row[:row.index("</tr>")]
    assert ">Mar 10, 2026, 12:00</time>" in row and ">2026-03-10T12:00" not in row
    for name in ("from", "to", "team", "agent", "channel", "score"):
        assert f'name="{name}"' in page.text
    bad = api.get("/reports/themes/billing%20error", params={**MARCH, "score": "angry"})
    assert bad.status_code == 400 and "score" in bad.text
    assert api.get("/reports/themes/nothing", headers={"Accept": "text/html"}).status_code == 404
    assert api.get("/api/reports/themes/nothing").status_code == 404
    data = api.get("/api/reports/themes/billing error", params=MARCH).json()
    assert data["total"] == 1 and data["responses"][0]["id"] == insights.id
    rows = list(csv.DictReader(io.StringIO(api.get(
        "/api/reports/export/responses", params=MARCH).content.decode("utf-8-sig"))))
    assert rows[0]["themes"] == "billing error"


def test_before_any_theme_the_pages_say_so(api):  # type: ignore[no-untyped-def]
    page = api.get("/reports/themes", params=MARCH)
    assert page.status_code == 200 and "No themes yet" in page.text
    assert api.get("/api/reports/themes", params=MARCH).json()["state"] == "untrained"


def test_digest_quotes_the_top_themes(engine, settings, insights):  # type: ignore[no-untyped-def]
    from feedback.reports.digest import compose

    with Session(engine) as s:
        _, body = compose(s, settings, datetime(2026, 3, 16, 8, tzinfo=UTC), date(2026, 3, 9))
    assert "- billing error: 12 responses (emerging)" in body
    assert "- friendly staff: 8 responses" in body


def test_the_drill_down_filters_by_score_class(session, settings, clock):  # type: ignore[no-untyped-def]
    """The real query behind `?score=`: unhappy, in between and happy answers of a theme."""
    from feedback.insights import analytics
    from feedback.insights.models import ResponseTheme, Theme
    from feedback.reports.figures import Filters

    theme = Theme(name="billing error")
    session.add(theme)
    session.commit()
    scores = {2: "unhappy", 7: "neutral", 10: "happy", 0: "unhappy"}
    ids = {}
    for n, score in enumerate(scores, start=1):
        r = answer(session, settings, clock.now, n, "nps", score, comment="bill")
        session.add(ResponseTheme(response_id=r.id, theme_id=theme.id))
        ids[r.id] = scores[score]
    session.commit()
    f = Filters(start_day=clock.now.date(), end_day=clock.now.date())
    for cls in ("unhappy", "neutral", "happy", None):
        found = analytics.responses(session, "billing error", f, score_class=cls)
        want = {rid for rid, c in ids.items() if cls in (None, c)}
        assert {r["id"] for r in found["responses"]} == want and found["total"] == len(want), cls
