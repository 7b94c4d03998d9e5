from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from jinja2 import Environment
from markupsafe import Markup

from feedback.reports.charts import (
    Series,
    bar_chart,
    colour_scale,
    heatmap,
    line_chart,
    nice_ticks,
    sparkline,
)

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & Co'
DAYS = [date(2024, 1, 1) + timedelta(days=7 * i) for i in range(6)]


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    return [
        "".join(t.itertext())
        for t in root.iter(f"{NS}text")
        if cls is None or f"fb-chart__{cls}" in t.get("class", "").split()
    ]


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if f"fb-chart__{cls}" in e.get("class", "").split()]


def assert_accessible(root: ET.Element) -> tuple[str, str]:
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox", "").startswith("0 0 ")
    title_id, desc_id = root.get("aria-labelledby", "").split()
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title is not None and desc is not None
    assert (title.get("id"), desc.get("id")) == (title_id, desc_id)
    assert title.text and desc.text
    return title.text, desc.text


ALL_CHARTS: dict[str, Callable[[], Markup]] = {
    "line": lambda: line_chart(
        [
            Series(
                "NPS",
                DAYS,
                [30, 32, None, 28, 35, 40],
                [20, 22, None, 18, 25, 30],
                [40, 42, None, 38, 45, 50],
            )
        ],  # fmt: skip
        title="NPS by week",
        y_label="points",
        x_label="week",
    ),
    "bar": lambda: bar_chart([("Alice", 45), ("Bob", -40)], title="NPS by agent"),
    "heatmap": lambda: heatmap(["Mon", "Tue"], ["9", "10"], [[0.1, 0.5], [None, 0.9]], title="D"),
    "spark": lambda: sparkline([80, 82, 85]),
}


@pytest.mark.parametrize("kind", ALL_CHARTS)
def test_every_chart_is_valid_accessible_svg(kind: str) -> None:
    svg = ALL_CHARTS[kind]()
    root = parse(svg)
    title, desc = assert_accessible(root)
    assert len(desc) > 20  # a real text summary, not just the title
    # Its natural width (the stylesheet shrinks it on narrow screens; the CSP allows no inline
    # style attribute that could say 100%).
    assert root.get("width") == root.get("viewBox").split()[2]
    assert 'class="fb-chart fb-chart--' in svg
    assert svg == ALL_CHARTS[kind]()  # deterministic output, deterministic ids


@pytest.mark.parametrize(
    "make",
    [
        lambda: line_chart([]),
        lambda: line_chart([Series("a", DAYS[:2], [None, float("nan")])], title="Empty"),
        lambda: bar_chart([]),
        lambda: bar_chart([("Alice", None)], title="No scores"),
        lambda: heatmap([], [], []),
        lambda: heatmap(["Mon"], ["9"], [[None]]),
        lambda: sparkline([]),
        lambda: sparkline([None, None]),
    ],
)
def test_empty_data_renders_no_data_chart(make: Callable[[], Markup]) -> None:
    root = parse(make())
    _, desc = assert_accessible(root)
    assert "No data" in texts(root)
    assert "no data" in desc


def test_user_labels_are_escaped_everywhere() -> None:
    charts = [
        line_chart([Series(EVIL, ["a", EVIL], [1, 2])], title=EVIL, y_label=EVIL),
        bar_chart([(EVIL, 3.0)], title=EVIL, x_label=EVIL),
        heatmap([EVIL], [EVIL], [[1.0]], title=EVIL, row_label=EVIL, col_label=EVIL),
        sparkline([1, 2], title=EVIL),
    ]
    for svg in charts:
        assert "<script" not in svg
        root = parse(svg)  # escaping kept the document well-formed
        assert not list(root.iter(f"{NS}script"))
        title, desc = assert_accessible(root)
        assert EVIL in title and EVIL in desc  # the text survives, as text


def test_xml_illegal_characters_are_dropped() -> None:
    root = parse(bar_chart([("Bad\x00\x0bname\x1f", 1.0)], title="t\x08"))
    assert "Badname" in texts(root, "label")


def test_long_labels_are_truncated_but_full_in_tooltip() -> None:
    name = "Maximilian Alexander von Featherstonehaugh-Cholmondeley"
    root = parse(bar_chart([(name, 10.0)], width=400))
    [label] = texts(root, "label")
    assert label.endswith("…") and len(label) < len(name)
    assert any(name in (t.text or "") for t in root.iter(f"{NS}title"))


def test_markup_embeds_in_autoescaped_templates_unchanged() -> None:
    svg = sparkline([1, 2, 3])
    env = Environment(autoescape=True)
    assert env.from_string("{{ chart }}").render(chart=svg) == str(svg)


def test_bar_chart_negative_values_and_error_bars() -> None:
    root = parse(
        bar_chart(
            [("Alice", 45.0), ("Bob", -40.0), ("Carol", None)],
            intervals=[(30.0, 60.0), (-60.0, -20.0), None],
            value_min=-100,
            value_max=100,
        )
    )
    bars = by_class(root, "bar")
    assert len(bars) == 2
    neg = by_class(root, "bar--negative")
    assert neg == [bars[1]]
    # The negative bar ends at the zero line, where the positive one starts.
    assert float(neg[0].get("x", 0)) + float(neg[0].get("width", 0)) == pytest.approx(
        float(bars[0].get("x", 0)), abs=0.2
    )
    assert neg[0].get("fill") and bars[0].get("fill") != neg[0].get("fill")
    assert texts(root, "value") == ["45", "-40", "no data"]
    assert len(by_class(root, "error")) == 2
    ticks = texts(root, "tick")
    assert ticks[0] == "-100" and ticks[-1] == "100"
    with pytest.raises(ValueError):
        bar_chart([("a", 1.0)], intervals=[])


def test_line_chart_gaps_band_and_markers() -> None:
    y = [30, 32, None, 28, None, 40]
    band_low = [20, 22, None, 18, None, 30]
    band_high = [40, 42, None, 38, None, 50]
    root = parse(line_chart([Series("NPS", DAYS, y, band_low, band_high)], y_min=0))
    # None splits the line: [0, 1], [3], [5] -> one polyline plus two isolated markers.
    assert len(by_class(root, "line")) == 1
    assert len(by_class(root, "band")) == 3
    assert len(by_class(root, "point")) == 4  # few points: every value gets a marker
    assert texts(root, "tick")[0] == "0"
    many = [float(i % 7) for i in range(100)]
    many[50] = None  # type: ignore[call-overload]
    xs = [date(2024, 1, 1) + timedelta(days=i) for i in range(100)]
    root = parse(line_chart([Series("x", xs, many)]))
    assert len(by_class(root, "line")) == 2 and not by_class(root, "point")


def test_line_chart_multiple_series_legend_and_dashes() -> None:
    a = Series("Email", DAYS, [1, 2, 3, 4, 5, 6])
    b = Series("SMS", DAYS[2:], [2, 3, 4, 5])
    root = parse(line_chart([a, b], title="CSAT"))
    assert texts(root, "legend") == ["Email", "SMS"]
    dashes = [p.get("stroke-dasharray") for p in by_class(root, "line")]
    assert dashes[0] is None and dashes[1]  # series differ by more than colour


def test_line_chart_categories_datetimes_and_single_point() -> None:
    cats = parse(line_chart([Series("NPS", ["Q1", "Q2", "Q3"], [10, -20, 5])]))
    assert texts(cats, "tick")[-3:] == ["Q1", "Q2", "Q3"]
    moments = [datetime(2024, 5, 1, h, tzinfo=UTC) for h in (9, 10, 12)]
    root = parse(line_chart([Series("CES", moments, [5.1, 5.3, 4.9])]))
    assert "2024-05-01 09:00" in texts(root, "tick")
    one = parse(line_chart([Series("NPS", [DAYS[0]], [42.0])]))
    assert len(by_class(one, "point")) == 1


def test_series_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        Series("a", DAYS, [1.0])
    with pytest.raises(ValueError):
        Series("a", DAYS[:2], [1.0, 2.0], low=[1.0])


def test_heatmap_values_printed_and_empty_cells_marked() -> None:
    root = parse(
        heatmap(["Mon", "Tue"], ["9", "10"], [[0.1, 0.5], [None, 0.9]], fmt=lambda v: f"{v:.0%}")
    )
    assert texts(root, "cell-value") == ["10%", "50%", "–", "90%"]
    assert len(by_class(root, "cell--empty")) == 1
    assert len(by_class(root, "legend-swatch")) == 9
    assert "– no data" in texts(root, "legend")
    fills = {r.get("fill") for c in by_class(root, "cell") for r in c.iter(f"{NS}rect")}
    assert colour_scale(0.0) in fills and colour_scale(1.0) in fills
    with pytest.raises(ValueError):
        heatmap(["Mon"], ["9", "10"], [[1.0]])


def test_heatmap_narrow_cells_hide_values_but_keep_tooltips() -> None:
    rows, cols = ["Mon"], [str(h) for h in range(24)]
    root = parse(heatmap(rows, cols, [[h * 1.5 for h in range(24)]], width=360))
    assert not texts(root, "cell-value")
    assert len(by_class(root, "cell")) == 24
    assert "Mon, 23: 34.5" in [t.text for t in root.iter(f"{NS}title")]


def test_colour_scale_is_viridis() -> None:
    assert colour_scale(0.0) == "#440154" and colour_scale(1.0) == "#fde725"
    assert colour_scale(-1.0) == "#440154" and colour_scale(2.0) == "#fde725"
    assert colour_scale(0.5) == "#21918c"


def test_sparkline_gaps_and_summary() -> None:
    root = parse(sparkline([80, 82, None, 85, None, 88, 90], title="CSAT"))
    assert len(by_class(root, "line")) == 2  # 80-82 and 88-90; 85 stands alone
    assert len(by_class(root, "point")) == 2  # the isolated 85 and the latest value
    _, desc = assert_accessible(root)
    assert "latest 90" in desc and "lowest 80" in desc
    assert parse(sparkline([5.0])).find(f"{NS}circle") is not None


def test_ids_are_unique_per_chart_and_overridable() -> None:
    a, b = parse(sparkline([1, 2])), parse(sparkline([2, 1]))
    assert a.get("aria-labelledby") != b.get("aria-labelledby")
    c = parse(sparkline([1, 2], chart_id='tile "nps"<1>'))
    assert c.get("aria-labelledby") == "c-tile--nps--1--title c-tile--nps--1--desc"


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (-40, 45, [-40, -20, 0, 20, 40, 60]),
        (0.12, 0.87, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (1, 7, [0, 2, 4, 6, 8]),
        (-100, 100, [-100, -50, 0, 50, 100]),
    ],
)
def test_nice_ticks(lo: float, hi: float, expected: list[float]) -> None:
    assert nice_ticks(lo, hi) == pytest.approx(expected)


def test_nice_ticks_flat_range() -> None:
    ticks = nice_ticks(5, 5)
    assert ticks[0] < 5 < ticks[-1]
    assert nice_ticks(0, 0)[0] < 0 < nice_ticks(0, 0)[-1]
