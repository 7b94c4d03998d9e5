"""Server-rendered SVG charts for the CX report pages: no JavaScript, no network, inline markup.

Rules every chart follows, and why:
- Labels come from user data (agent names, team names), so every piece of text is stripped of
  characters XML forbids and escaped; the result is returned as `Markup` only after that.
- `role="img"` plus `<title>`/`<desc>` referenced by `aria-labelledby`: screen readers announce
  the title and a generated text summary (latest value, range) instead of a soup of numbers.
- `viewBox` with width 100 % so a chart scales down on phones; font sizes are viewBox units.
- Colours are from the Okabe-Ito (categorical) and viridis (sequential) palettes, both
  colour-blind safe, and are never the only cue: series also differ by dash pattern, values are
  printed as text, and viridis keeps a monotonic lightness so heatmaps survive grey printing.
- Each element carries a CSS class *and* an inline fill/stroke, so a stylesheet can restyle it
  while printing and inline e-mail still work without any stylesheet.
- ids are derived from the chart's content (or given), so two charts on a page do not clash and
  the same data renders byte-identically (cache- and snapshot-friendly).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeGuard, cast

from markupsafe import Markup, escape

Formatter = Callable[[float], str]
XValue = date | datetime | str

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4")
NEGATIVE = "#D55E00"
INK, MUTED, GRID, EMPTY_FILL = "#222222", "#555555", "#dddddd", "#eeeeee"
# viridis at 9 evenly spaced stops (matplotlib's colormap data).
VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
           "#28ae80", "#5ec962", "#addc30", "#fde725")  # fmt: skip
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
CHAR_W = 7.0  # rough advance of a 13px sans-serif character, for layout only
_XML_ILLEGAL = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Series:
    """One line: y[i] at x[i]; None (or NaN) is a gap. low/high optionally give a CI band."""

    name: str
    x: Sequence[XValue]
    y: Sequence[float | None]
    low: Sequence[float | None] | None = None
    high: Sequence[float | None] | None = None

    def __post_init__(self) -> None:
        for other in (self.y, self.low, self.high):
            if other is not None and len(other) != len(self.x):
                raise ValueError(f"series {self.name!r}: x, y, low and high must be equally long")


# --- small helpers -----------------------------------------------------------------------------


def _t(text: object, limit: int | None = None) -> str:
    """Text made safe for XML: illegal characters dropped, truncated, escaped."""
    s = _XML_ILLEGAL.sub("", str(text))
    if limit is not None and len(s) > limit:
        s = s[: max(1, limit - 1)] + "…"
    return str(escape(s))


def _n(v: float) -> str:
    return f"{v:.1f}"


def _el(tag: str, content: str = "", /, cls: object = "", **attrs: object) -> str:
    """An element. `content` must already be escaped; attribute values are internal (numbers,
    colours), never user text. font_size= becomes font-size, and cls="bar bar--neg" becomes
    class="fb-chart__bar fb-chart__bar--neg"."""
    a = f' class="{" ".join("fb-chart__" + c for c in str(cls).split())}"' if cls else ""
    for k, v in attrs.items():
        if v is not None and v != "":
            a += f' {k.replace("_", "-")}="{_n(v) if isinstance(v, float) else v}"'
    return f"<{tag}{a}>{content}</{tag}>" if content else f"<{tag}{a}/>"


def _text(x: float, y: float, s: str, cls: str, anchor: str = "start", **attrs: object) -> str:
    return _el("text", s, cls=cls, x=x, y=y, text_anchor=anchor, **attrs)


def _pts(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{_n(a)},{_n(b)}" for a, b in points)


def _polyline(cls: str, points: list[tuple[float, float]], colour: str, **attrs: object) -> str:
    return _el("polyline", cls=cls, points=_pts(points), fill="none", stroke=colour,
               stroke_linejoin="round", **attrs)  # fmt: skip


def _rect(x: float, y: float, w: float, h: float, fill: str, **attrs: object) -> str:
    return _el("rect", x=x, y=y, width=w, height=h, fill=fill, **attrs)


def _ok(v: float | None) -> TypeGuard[float]:
    return v is not None and math.isfinite(v)


def _runs(flags: Sequence[bool]) -> list[list[int]]:
    """Maximal runs of consecutive indices whose flag is true (None values break lines)."""
    runs: list[list[int]] = [[]]
    for i, good in enumerate(flags):
        if good:
            runs[-1].append(i)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def default_format(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def nice_ticks(lo: float, hi: float, max_ticks: int = 6, *, integer: bool = False) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k steps) covering lo..hi; with `integer` (counts)
    only whole steps: "2.5 tasks" is no tick anyone wants."""
    lo, hi = min(lo, hi), max(lo, hi)
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, max_ticks - 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9)
                and (not integer or float(m * mag).is_integer()))
    step = max(step, 1.0) if integer else step
    start, end = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(start, end + 1)]


def _tick_format(ticks: list[float]) -> Formatter:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = next((d for d in range(7) if abs(round(step, d) - step) < 1e-9), 6)
    return lambda v: f"{v:.{decimals}f}"


def _chart_id(kind: str, given: str | None, *payload: object) -> str:
    if given:
        return "c-" + re.sub(r"[^A-Za-z0-9_-]", "-", given)
    digest = hashlib.sha1(repr(payload).encode(), usedforsecurity=False).hexdigest()
    return f"fbc-{kind}-{digest[:10]}"


def _svg(kind: str, cid: str, w: float, h: float, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fb-chart fb-chart--{kind}" role="img" '
        # Its natural width, shrunk by the stylesheet (svg.fb-chart) on narrow screens: no style
        # attribute, which the Content-Security-Policy would refuse.
        f'viewBox="0 0 {_n(w)} {_n(h)}" width="{_n(w)}" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{FONT}" font-size="13" fill="{INK}">'
        f'<title id="{cid}-title">{_t(title)}</title><desc id="{cid}-desc">{_t(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _heading(title: str, w: float) -> list[str]:
    text = _t(title, int(w / 8))
    return (
        [_text(w / 2, 22, text, "title", "middle", font_size=15, font_weight=600)] if title else []
    )


def _no_data(kind: str, cid: str, title: str, w: float, h: float) -> Markup:
    body = _heading(title, w) if h >= 60 else []
    body.append(_text(w / 2, h / 2 + 5, "No data", "empty", "middle", fill=MUTED))
    return _svg(kind, cid, w, h, title or "Chart", f"{title or 'Chart'}: no data.", body)


def _tick_label(x: float, y: float, s: str, anchor: str = "middle") -> str:
    return _text(x, y, _t(s), "tick", anchor, fill=MUTED, font_size=12)


def _grid(x1: float, x2: float, y1: float, y2: float, zero: bool) -> str:
    return _el("line", cls="grid", x1=x1, x2=x2, y1=y1, y2=y2, stroke=MUTED if zero else GRID)


def _extremes(pairs: Sequence[tuple[str, float]], fmt: Formatter) -> str:
    (hl, hv), (ll, lv) = max(pairs, key=lambda p: p[1]), min(pairs, key=lambda p: p[1])
    return f"highest {fmt(hv)} ({hl}), lowest {fmt(lv)} ({ll})"


# --- line chart --------------------------------------------------------------------------------


def _x_key(x: XValue) -> float:
    if isinstance(x, datetime):
        return (x if x.tzinfo else x.replace(tzinfo=UTC)).timestamp()
    assert isinstance(x, date)
    return datetime(x.year, x.month, x.day, tzinfo=UTC).timestamp()


def _x_label(x: XValue) -> str:
    if isinstance(x, datetime) and (x.hour, x.minute) != (0, 0):
        return x.strftime("%Y-%m-%d %H:%M")
    return x.date().isoformat() if isinstance(x, datetime) else str(x)  # date str() is ISO


def line_chart(
    series: Sequence[Series],
    *,
    title: str = "",
    y_label: str = "",
    x_label: str = "",
    y_min: float | None = None,
    y_max: float | None = None,
    fmt: Formatter = default_format,
    width: float = 640,
    height: float = 320,
    summary: str | None = None,
    chart_id: str | None = None,
) -> Markup:
    """Time series (dates/datetimes, placed to scale) or categories (labels, evenly spaced).

    `y_min`/`y_max` are values the axis must include (e.g. 0 and 100 for percentages).
    """
    cid = _chart_id("line", chart_id, title, [(s.name, s.x, s.y, s.low, s.high) for s in series])
    if not any(_ok(v) for s in series for v in s.y):
        return _no_data("line", cid, title, width, height)
    bounds = [v for s in series for arr in (s.y, s.low or [], s.high or []) for v in arr if _ok(v)]
    bounds += [v for v in (y_min, y_max) if v is not None]
    xs_all = [x for s in series for x in s.x]
    key: Callable[[XValue], float] = _x_key
    if all(isinstance(x, date) for x in xs_all):
        ordered = sorted(dict.fromkeys(xs_all), key=_x_key)
    else:
        ordered = list(dict.fromkeys(str(x) for x in xs_all))
        position = {x: float(i) for i, x in enumerate(ordered)}
        key = lambda x: position[str(x)]  # noqa: E731
    kmin, kmax = key(ordered[0]), key(ordered[-1])
    legend = len(series) > 1
    left, top, bottom = 64.0, 40.0 + 20 * legend, 44.0 + 16 * bool(x_label)
    pw, ph = width - left - 20, height - top - bottom
    ticks = nice_ticks(min(bounds), max(bounds))
    ylo, yhi = ticks[0], ticks[-1]

    def xs(x: XValue) -> float:
        return left + (pw / 2 if kmax == kmin else (key(x) - kmin) / (kmax - kmin) * pw)

    def ys(v: float | None) -> float:
        return top + ph - (cast(float, v) - ylo) / (yhi - ylo) * ph

    body, tick_fmt = _heading(title, width), _tick_format(ticks)
    for tv in ticks:
        body.append(_grid(left, left + pw, ys(tv), ys(tv), tv == 0))
        body.append(_tick_label(left - 6, ys(tv) + 4, tick_fmt(tv), "end"))
    # Thin the x labels so that each gets ~90 units and they never overlap.
    for x in ordered[:: max(1, math.ceil(len(ordered) / max(1, int(pw // 90))))]:
        body.append(_tick_label(xs(x), top + ph + 18, _x_label(x)[:16]))
    if y_label:
        ym = top + ph / 2
        body.append(
            _text(
                16,
                ym,
                _t(y_label, 40),
                "axis-label",
                "middle",
                transform=f"rotate(-90 16 {_n(ym)})",
            )
        )
    if x_label:
        body.append(_text(left + pw / 2, height - 8, _t(x_label, 60), "axis-label", "middle"))
    lx, descs = left, []
    for si, s in enumerate(series):
        colour = OKABE_ITO[si % len(OKABE_ITO)]
        stroke = {"stroke_width": 2.5, "stroke_dasharray": DASHES[si % len(DASHES)]}
        g = []
        if s.low is not None and s.high is not None:
            for run in _runs([_ok(a) and _ok(b) for a, b in zip(s.low, s.high, strict=True)]):
                band = [(xs(s.x[i]), ys(s.high[i])) for i in run]
                band += [(xs(s.x[i]), ys(s.low[i])) for i in reversed(run)]
                # A lone point's band has no area: widen its outline into an error bar instead.
                paint: dict[str, object] = {"fill": colour, "fill_opacity": 0.15}
                if len(run) == 1:
                    paint.update(stroke=colour, stroke_opacity=0.3, stroke_width=6)
                g.append(_el("polygon", cls="band", points=_pts(band), **paint))
        runs = _runs([_ok(v) for v in s.y])
        for run in (r for r in runs if len(r) > 1):
            line = [(xs(s.x[i]), ys(s.y[i])) for i in run]
            g.append(_polyline("line", line, colour, **stroke))
        # Markers on every point while they stay legible; always on isolated points, which
        # would otherwise be invisible between two gaps.
        for i in (i for r in runs for i in r if len(r) == 1 or len(s.x) <= 40):
            x, v = s.x[i], cast(float, s.y[i])
            tip = _el("title", _t(f"{s.name}, {_x_label(x)}: {fmt(v)}"))
            g.append(_el("circle", tip, cls="point", cx=xs(x), cy=ys(v), r=3.5, fill=colour))
        body.append(_el("g", "".join(g), cls=f"series series--{si}"))
        if legend and lx < width - 60:
            sample = [(lx, top - 14), (lx + 24, top - 14)]
            body.append(_polyline("legend-line", sample, colour, **stroke))
            body.append(_text(lx + 30, top - 10, _t(s.name, 24), "legend"))
            lx += 40 + CHAR_W * min(24, len(s.name))
        found = [(_x_label(x), v) for x, v in zip(s.x, s.y, strict=True) if _ok(v)]
        descs.append(
            f"{s.name}: {len(found)} values from {found[0][0]} to {found[-1][0]}, "
            f"latest {fmt(found[-1][1])}, {_extremes(found, fmt)}."
            if found
            else f"{s.name}: no data."
        )
    desc = summary or f"Line chart{': ' + title if title else ''}. " + " ".join(descs)
    return _svg("line", cid, width, height, title or "Line chart", desc, body)


# --- bar chart ---------------------------------------------------------------------------------


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str = "",
    intervals: Sequence[tuple[float, float] | None] | None = None,
    x_label: str = "",
    value_min: float | None = None,
    value_max: float | None = None,
    fmt: Formatter = default_format,
    width: float = 640,
    bar_height: float = 24,
    summary: str | None = None,
    chart_id: str | None = None,
    counts: bool = False,
) -> Markup:
    """Horizontal bars from a zero line (negative values such as NPS -40 extend left).

    `intervals` gives an optional (low, high) error bar per item; `value_min`/`value_max` are
    values the axis must include (e.g. -100 and 100 for NPS); `counts` keeps ticks whole.
    """
    if intervals is not None and len(intervals) != len(items):
        raise ValueError("intervals must have one entry (or None) per item")
    cid = _chart_id("bar", chart_id, title, list(items), intervals)
    top, row = 40.0 if title else 12.0, bar_height + 10
    axis_y = top + max(1, len(items)) * row
    height = axis_y + 34 + 18 * bool(x_label)
    shown = [(str(label), v) for label, v in items if _ok(v)]
    if not shown:
        return _no_data("bar", cid, title, width, max(height, 120))
    errs = [e if e and _ok(e[0]) and _ok(e[1]) else None for e in intervals or [None] * len(items)]
    span = [v for _, v in shown] + [b for e in errs if e for b in e] + [0.0]
    span += [v for v in (value_min, value_max) if v is not None]
    ticks = nice_ticks(min(span), max(span), integer=counts)
    lo, hi = ticks[0], ticks[-1]
    label_w = min(width * 0.35, max(60.0, CHAR_W * max(len(str(lb)) for lb, _ in items) + 12))
    # Room for value labels: left of the most negative bar, right of the longest positive one.
    x0, x1 = label_w + 8 + 52 * (lo < 0), width - 56

    def xs(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    body, tick_fmt = _heading(title, width), _tick_format(ticks)
    for tv in ticks:
        body.append(_grid(xs(tv), xs(tv), top - 4, axis_y, tv == 0))
        body.append(_tick_label(xs(tv), axis_y + 16, tick_fmt(tv)))
    if x_label:
        body.append(_text((x0 + x1) / 2, axis_y + 34, _t(x_label, 60), "axis-label", "middle"))
    for i, (label, value) in enumerate(items):
        y = top + i * row
        mid = y + bar_height / 2 + 4.5
        g = [
            _el("title", _t(f"{label}: {fmt(value) if _ok(value) else 'no data'}")),
            _text(label_w, mid, _t(label, int(label_w / CHAR_W)), "label", "end"),
        ]
        if not _ok(value):
            g.append(_text(xs(0) + 4, mid, "no data", "value", fill=MUTED, font_style="italic"))
        else:
            a, b = sorted((xs(0), xs(value)))
            neg = value < 0
            colour = NEGATIVE if neg else OKABE_ITO[0]
            cls = "bar bar--negative" if neg else "bar"
            g.append(_rect(a, y, max(b - a, 1.0), bar_height, colour, cls=cls))
            end, err = xs(value), errs[i]
            if err:
                e_lo, e_hi, cy, cap = xs(err[0]), xs(err[1]), y + bar_height / 2, bar_height / 4
                path = (f"M{_n(e_lo)} {_n(cy)}H{_n(e_hi)}M{_n(e_lo)} {_n(cy - cap)}V{_n(cy + cap)}"
                        f"M{_n(e_hi)} {_n(cy - cap)}V{_n(cy + cap)}")  # fmt: skip
                g.append(_el("path", cls="error", d=path, stroke=INK, stroke_width=1.5))
                end = min(end, e_lo) if neg else max(end, e_hi)
            # Negative values are labelled left of the bar, so the sign reads without colour.
            anchor = "end" if neg else "start"
            g.append(_text(end + (-5 if neg else 5), mid, _t(fmt(value)), "value", anchor))
        body.append(_el("g", "".join(g), cls="item"))
    if summary is None:
        listing = "; ".join(f"{lb} {fmt(v) if _ok(v) else 'no data'}" for lb, v in items)
        summary = (
            f"Bar chart{': ' + title if title else ''}. {len(items)} bars, "
            f"{_extremes(shown, fmt)}. {listing}."
        )
    return _svg("bar", cid, width, height, title or "Bar chart", summary, body)


# --- heatmap -----------------------------------------------------------------------------------


def _rgb(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def colour_scale(t: float) -> str:
    """viridis colour for t in [0, 1] (clamped), interpolated between the stored stops."""
    t = min(1.0, max(0.0, t)) * (len(VIRIDIS) - 1)
    i = min(int(t), len(VIRIDIS) - 2)
    a, b, f = _rgb(VIRIDIS[i]), _rgb(VIRIDIS[i + 1]), t - i
    return "#" + "".join(f"{round(p + (q - p) * f):02x}" for p, q in zip(a, b, strict=True))


def _ink_on(fill: str) -> str:
    r, g, b = _rgb(fill)
    return INK if (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 > 0.5 else "#ffffff"


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    fmt: Formatter = default_format,
    row_label: str = "",
    col_label: str = "",
    width: float = 640,
    cell_height: float = 26,
    summary: str | None = None,
    chart_id: str | None = None,
) -> Markup:
    """Grid of values[r][c] (e.g. detractor share by weekday x hour); None cells show "–".

    Values are printed in the cells whenever they fit, so the chart reads without colour.
    """
    if len(values) != len(rows) or any(len(r) != len(cols) for r in values):
        raise ValueError("values must have one row per row label and one value per column")
    cid = _chart_id("heatmap", chart_id, title, list(rows), list(cols), [list(r) for r in values])
    found = [(f"{r}, {c}", v) for r, vs in zip(rows, values, strict=True)
             for c, v in zip(cols, vs, strict=True) if _ok(v)]  # fmt: skip
    top = (40.0 if title else 12.0) + 22
    grid_bottom = top + len(rows) * cell_height
    height = grid_bottom + 64 + 18 * bool(col_label)
    if not found:
        return _no_data("heatmap", cid, title, width, max(height, 120))
    lo = min(v for _, v in found) if vmin is None else vmin
    hi = max(v for _, v in found) if vmax is None else vmax
    span = (hi - lo) or 1.0
    left = min(width * 0.3, max(40.0, CHAR_W * max(len(str(r)) for r in rows) + 12))
    cw, row_chars = (width - left - 12) / len(cols), int(left / CHAR_W)
    # Print values in all cells or in none: a grid where only the short numbers show is confusing.
    print_values = max(len(fmt(v)) for _, v in found) * 6.5 + 4 <= cw
    body = _heading(title, width)
    if row_label:
        body.append(_text(left - 6, top - 8, _t(row_label, row_chars), "axis-label", "end"))
    col_step = max(1, math.ceil(16 / cw))  # e.g. 24 hours on a phone: label every other hour
    for j in range(0, len(cols), col_step):
        label = _t(cols[j], max(2, int(cw * col_step / 6.5)))
        body.append(_text(left + (j + 0.5) * cw, top - 8, label, "tick", "middle", font_size=11))
    for i, r in enumerate(rows):
        y = top + i * cell_height
        body.append(_text(left - 6, y + cell_height / 2 + 4, _t(r, row_chars), "label", "end"))
        for j, c in enumerate(cols):
            v, x = values[i][j], left + j * cw
            fill = colour_scale((v - lo) / span) if _ok(v) else EMPTY_FILL
            shown = fmt(v) if _ok(v) else "–"
            tip = _el("title", _t(f"{r}, {c}: {shown if _ok(v) else 'no data'}"))
            g = tip + _rect(x, y, cw, cell_height, fill, stroke="#ffffff")
            if print_values:
                ink = _ink_on(fill)
                g += _text(x + cw / 2, y + cell_height / 2 + 4, _t(shown), "cell-value", "middle",
                           fill=ink, font_size=11)  # fmt: skip
            body.append(_el("g", g, cls="cell" if _ok(v) else "cell cell--empty"))
    y = grid_bottom + 14
    if col_label:
        cx = (left + width - 12) / 2
        body.append(_text(cx, y + 4, _t(col_label, 60), "axis-label", "middle"))
        y += 18
    # Legend: the scale as discrete swatches with both ends labelled, plus the "no data" key.
    sw = 22.0
    for k in range(len(VIRIDIS)):
        swatch = colour_scale(k / (len(VIRIDIS) - 1))
        body.append(_rect(left + k * sw, y, sw, 12, swatch, cls="legend-swatch"))
    body.append(_text(left, y + 28, _t(fmt(lo)), "legend", font_size=11))
    body.append(_text(left + len(VIRIDIS) * sw, y + 28, _t(fmt(hi)), "legend", "end", font_size=11))
    missing = len(rows) * len(cols) - len(found)
    if missing:
        nx = left + len(VIRIDIS) * sw + 24
        body.append(_rect(nx, y, sw, 12, EMPTY_FILL, stroke=MUTED))
        body.append(_text(nx + sw + 6, y + 11, "– no data", "legend", font_size=11))
    if summary is None:
        summary = (
            f"Heatmap{': ' + title if title else ''}. {len(rows)} rows by {len(cols)} columns, "
            f"{_extremes(found, fmt)}, {missing} cells without data. "
            "Darker colours are lower values, brighter ones higher."
        )
    return _svg("heatmap", cid, width, height, title or "Heatmap", summary, body)


# --- sparkline ---------------------------------------------------------------------------------


def sparkline(
    values: Sequence[float | None],
    *,
    title: str = "Trend",
    fmt: Formatter = default_format,
    width: float = 120,
    height: float = 32,
    summary: str | None = None,
    chart_id: str | None = None,
) -> Markup:
    """Axis-less trend line for a KPI tile; the last value is dotted. None values are gaps."""
    cid = _chart_id("spark", chart_id, title, list(values))
    flags = [_ok(v) for v in values]
    found = [v for v in values if _ok(v)]
    if not found:
        return _no_data("spark", cid, title, width, height)
    lo, hi, pad = min(found), max(found), 4.0

    def at(i: int) -> tuple[float, float]:
        x = width / 2 if len(values) == 1 else pad + i * (width - 2 * pad) / (len(values) - 1)
        v = cast(float, values[i])
        y = height / 2 if hi == lo else height - pad - (v - lo) / (hi - lo) * (height - 2 * pad)
        return x, y

    runs = _runs(flags)
    body = [
        _polyline("line", [at(i) for i in r], OKABE_ITO[0], stroke_width=1.75)
        for r in runs
        if len(r) > 1
    ]
    # Dot the latest value, and any value isolated between gaps (a 1-point line is invisible).
    for i in sorted({runs[-1][-1], *(r[0] for r in runs if len(r) == 1)}):
        cx, cy = at(i)
        body.append(_el("circle", cls="point", cx=cx, cy=cy, r=2.5, fill=OKABE_ITO[0]))
    if summary is None:
        summary = (
            f"{title}: {len(found)} values, first {fmt(found[0])}, latest {fmt(found[-1])}, "
            f"lowest {fmt(lo)}, highest {fmt(hi)}."
        )
    return _svg("spark", cid, width, height, title, summary, body)
