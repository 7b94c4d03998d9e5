"""The dashboard and loop report read right: the "Trend by" control is on the page and the grain
defaults to the window, the heatmap groups hours until its cells say something, SLA compliance
is told apart for first contact and resolution, CSV figures are rounded, loop charts count in
whole steps with root causes by frequency."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from types import SimpleNamespace

import pytest

from feedback.reports import charts, service
from feedback.reports.pages import _month_label
from tests.test_kpis_api import answers  # noqa: F401  (the shared 18-answer fixture)

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def test_the_trend_by_and_break_down_by_controls_are_on_the_dashboard(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    page = api.get("/reports", params={**MARCH, "grain": "month"}).text
    form = page[page.index('aria-label="Report filters"'):]
    form = form[:form.index("</form>")]
    assert '<select name="grain">' in form and '<select name="by">' in form
    assert re.search(r"<option value=\"month\" selected>month</option>", form)
    # the chosen grain is sent once, by the control itself, not also by a hidden copy
    assert form.count('name="grain"') == 1


@pytest.mark.parametrize(("days", "grain"), [(1, "day"), (14, "day"), (15, "week"),
                                             (120, "week"), (121, "month"), (365, "month")])
def test_the_grain_defaults_to_the_window(days: int, grain: str) -> None:
    assert service.auto_grain(SimpleNamespace(days=days)) == grain  # type: ignore[arg-type]


def test_a_sparse_heatmap_groups_hours_until_most_cells_have_enough_answers() -> None:
    sparse = [[0] * 24 for _ in range(7)]
    for day in range(7):
        for hour in range(8, 20):
            sparse[day][hour] = 2  # two answers an hour: every hourly cell under min_n = 5
    assert service._block_width(sparse, 5) == 3  # 3 h blocks hold 6 answers
    dense = [[6] * 24 for _ in range(7)]
    assert service._block_width(dense, 5) == 1
    assert service._block_width([[0] * 24 for _ in range(7)], 5) == 1  # nothing at all


def test_heatmap_api_keeps_the_hourly_cells_and_adds_the_blocks(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    h = api.get("/api/reports/heatmap", params=MARCH).json()
    assert len(h["cols"]) == 24 and len(h["n"][0]) == 24
    width = h["hours_per_cell"]
    assert len(h["block_cols"]) == 24 // width
    assert sum(map(sum, h["block_n"])) == sum(map(sum, h["n"])) == 18
    assert any(v is not None for row in h["block_share"] for v in row)  # something to read


def test_sla_compliance_is_told_apart_for_first_contact_and_resolution(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    tiles = {t["key"]: t for t in api.get("/api/reports/dashboard", params=MARCH).json()["tiles"]}
    assert "sla" not in tiles
    assert tiles["sla_first_contact"]["label"] == "First contact within SLA"
    assert tiles["sla_resolution"]["label"] == "Resolved within SLA"


def test_chart_csv_figures_are_rounded(api, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    r = api.get("/api/reports/csv/tiles", params=MARCH)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    for row in rows:
        for name, value in row.items():
            if re.fullmatch(r"-?\d+\.\d+", value or ""):
                assert len(value.split(".")[1]) <= (4 if name == "p_value" else 2), (name, value)


def test_count_charts_tick_in_whole_steps() -> None:
    assert charts.nice_ticks(0, 5) == [0, 1, 2, 3, 4, 5]
    assert all(float(t).is_integer() for t in charts.nice_ticks(0, 12, integer=True))
    assert charts.nice_ticks(0, 2, integer=True) == [0, 1, 2]
    assert 2.5 in charts.nice_ticks(0, 12)  # values (NPS, %) still get 2.5 steps


def test_a_month_the_window_covers_in_part_says_so() -> None:
    start, end = date(2026, 11, 2), date(2026, 12, 1)
    assert _month_label("2026-11", start, end) == "2–30 Nov 2026"
    assert _month_label("2026-12", start, end) == "1 Dec 2026"
    assert _month_label("2026-11", date(2026, 10, 1), end) == "Nov 2026"
