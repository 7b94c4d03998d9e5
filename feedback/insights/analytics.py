"""Theme analytics for the reports: volume, share, sentiment, unhappy share, impact, emerging.

Every per-theme figure is computed from the same rows - the commented responses of the period -
and "unhappy" has one definition (`mention_polarity`): a negative mention of the theme (the
answer's score decides only when the mention has no sentiment). So the sentiment counts add up
to the count, the unhappy share is the negative count over it, and the impact's sign follows
the sentiment counts. Each figure carries its n and a 95 % interval, and is None ("no data")
below MIN_N answers.

Scores of different survey kinds are compared through one "net score": the share of positive
answers (promoters, satisfied, easy) minus the share of negative ones, in points. For an NPS
survey that is exactly NPS; for CSAT it is satisfied minus dissatisfied.

- impact: 100 x (positive - negative mentions) / commented responses - how many net sentiment
  points the theme adds to (or takes from) the comments as a whole;
- net_with / net_without: the score-based net score of the responses with / without the theme;
- key driver: a ridge regression of each answer's polarity (+1/0/−1) on the theme indicators,
  so themes that co-occur are not both blamed for the same detractors;
- emerging: a theme whose share of commented responses in the period is significantly above
  its share in the preceding period of equal length (two-proportion z-test).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, select

from feedback.insights.models import ResponseTheme, Theme
from feedback.reports.figures import Filters
from surveys.models import Response
from surveys.scoring import NEGATIVE, POSITIVE
from surveys.stats import Z95, two_proportion_z_test, wilson_interval

_POS = {c.value for c in POSITIVE}
_NEG = {c.value for c in NEGATIVE}
EMERGING_P = 0.05
EMERGING_MIN = 5  # fewer mentions than this are never "emerging", whatever the p-value
MIN_N = 5  # below this many answers a share, impact or interval is "no data", not a number


@dataclass
class Row:
    id: int
    at: datetime
    polarity: int  # +1 positive, 0 passive, -1 negative
    score: int
    comment: str | None


@dataclass
class Frame:
    rows: dict[int, Row]
    links: dict[int, list[tuple[str, float, str | None]]]  # response → (theme, conf, sentiment)


def _where(f: Filters) -> list[Any]:
    r = Response.__table__.c  # type: ignore[attr-defined]
    out = [r.submitted_at >= f.start, r.submitted_at < f.end]
    for name in ("kind", "team", "channel", "agent", "queue"):
        value = getattr(f, name)
        if value:
            out.append(getattr(r, name) == value)
    return out


def load(session: Session, f: Filters) -> Frame:
    r = Response.__table__.c  # type: ignore[attr-defined]
    rows = {
        rid: Row(rid, at, 1 if cls in _POS else -1 if cls in _NEG else 0, score, comment)
        for rid, at, cls, score, comment in session.execute(
            sa.select(r.id, r.submitted_at, r.classification, r.score, r.comment)
            .where(*_where(f)))
    }
    links: dict[int, list[tuple[str, float, str | None]]] = defaultdict(list)
    stmt = (sa.select(ResponseTheme.response_id, Theme.name, ResponseTheme.confidence,
                      ResponseTheme.sentiment)
            .join(Theme, col(Theme.id) == ResponseTheme.theme_id)
            .join(Response, col(Response.id) == ResponseTheme.response_id)
            .where(*_where(f)))
    for rid, name, conf, sentiment in session.execute(stmt):
        links[rid].append((name, conf, sentiment))
    return Frame(rows, dict(links))


def has_links(session: Session) -> bool:
    return session.exec(select(ResponseTheme.id).limit(1)).first() is not None


def _net(rows: list[Row]) -> float | None:
    if not rows:
        return None
    return round(100.0 * sum(r.polarity for r in rows) / len(rows), 1)


def bucket_start(day: date, grain: str) -> date:
    if grain == "day":
        return day
    if grain == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())  # ISO week, Monday first


def mention_polarity(sentiment: str | None, row: Row) -> int:
    """THE definition of "unhappy" (-1) for one mention of a theme, used by every figure.

    What the comment says about the theme decides; a mention without a sentiment (a model
    without a sentiment part) falls back to the answer's score. "conflict" counts as neutral.
    """
    if sentiment == "negative":
        return -1
    if sentiment == "positive":
        return 1
    if sentiment in ("neutral", "conflict"):
        return 0
    return row.polarity


_SENTIMENT_OF = {1: "positive", 0: "neutral", -1: "negative"}


def _share(k: int, n: int) -> dict[str, Any]:
    """A proportion with its Wilson 95 % interval, or "no data" (value None) below MIN_N."""
    if n < MIN_N:
        return {"value": None, "low": None, "high": None, "n": n, "k": k}
    low, high = wilson_interval(k, n)
    return {"value": round(k / n, 4), "low": round(low, 4), "high": round(high, 4), "n": n,
            "k": k}


def _net_estimate(values: list[int]) -> dict[str, Any]:
    """Mean of +1/0/-1 values in points with a normal 95 % interval; None below MIN_N."""
    n = len(values)
    if n < MIN_N:
        return {"value": None, "low": None, "high": None, "n": n}
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = Z95 * math.sqrt(var / n)
    return {"value": round(100.0 * mean, 1), "low": round(100.0 * max(-1.0, mean - half), 1),
            "high": round(100.0 * min(1.0, mean + half), 1), "n": n}


def summary(frame: Frame) -> list[dict[str, Any]]:
    """One entry per theme, every figure from the same rows: the commented responses.

    - `count` responses mention the theme; `share` of the commented responses (interval);
    - `sentiment`: positive + neutral + negative mentions == count (see `mention_polarity`);
    - `unhappy`: negative mentions / count (interval) - the same negatives as in `sentiment`;
    - `impact`: net sentiment points the theme adds to all commented responses, i.e.
      100 x (positive - negative mentions) / commented responses, with its interval: its sign
      always agrees with the sentiment counts;
    - `net_with` / `net_without`: the score-based net score of the responses with and without
      the theme (interval), and `key_driver`: the regression of scores on themes.
    """
    commented = [r for r in frame.rows.values() if (r.comment or "").strip()]
    ids_commented = {r.id for r in commented}
    base = len(commented)
    polarity: dict[str, dict[int, int]] = defaultdict(dict)  # theme -> response -> polarity
    for rid, mentions in frame.links.items():
        if rid not in ids_commented:
            continue
        for name, _, sent in mentions:
            polarity[name][rid] = mention_polarity(sent, frame.rows[rid])
    drivers = key_drivers(frame, sorted(polarity))
    out = []
    for name, by_response in polarity.items():
        n = len(by_response)
        counts = Counter(_SENTIMENT_OF[v] for v in by_response.values())
        with_rows = [frame.rows[rid].polarity for rid in by_response]
        without = [r.polarity for r in commented if r.id not in by_response]
        impact = _net_estimate([*by_response.values(), *[0] * (base - n)])
        share = _share(n, base)
        unhappy = _share(counts["negative"], n)
        net_with, net_without = _net_estimate(with_rows), _net_estimate(without)
        out.append({
            "theme": name, "count": n, "commented": base, "share": share["value"],
            "share_interval": [share["low"], share["high"]],
            "sentiment": {s: counts[s] for s in ("positive", "neutral", "negative")},
            "unhappy": unhappy["value"], "unhappy_interval": [unhappy["low"], unhappy["high"]],
            "impact": impact["value"], "impact_interval": [impact["low"], impact["high"]]
            if n >= MIN_N else [None, None],
            "net_with": net_with["value"], "net_with_interval": [net_with["low"], net_with["high"]],
            "net_without": net_without["value"],
            "mean_score": round(float(np.mean([frame.rows[rid].score for rid in by_response])), 2),
            "key_driver": drivers.get(name) if n >= MIN_N else None,
            "enough_data": n >= MIN_N,
        })
        if n < MIN_N:
            out[-1]["impact"] = None
    out.sort(key=lambda t: (-t["count"], t["theme"]))
    return out


def key_drivers(frame: Frame, themes: list[str], alpha: float = 1.0) -> dict[str, float]:
    """Net-score points attributed to each theme by a ridge regression on theme indicators."""
    tagged = [rid for rid in frame.rows if frame.links.get(rid)]
    if len(tagged) < 10 or not themes:
        return {}
    index = {t: j for j, t in enumerate(themes)}
    x = np.zeros((len(tagged), len(themes)))
    for i, rid in enumerate(tagged):
        for name, _, _ in frame.links[rid]:
            x[i, index[name]] = 1.0
    y = np.array([frame.rows[rid].polarity for rid in tagged], dtype=float)
    xc, yc = x - x.mean(axis=0), y - y.mean()
    coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(len(themes)), xc.T @ yc)
    return {t: round(100.0 * float(coef[j]), 1) for t, j in index.items()}


def trend(frame: Frame, f: Filters, grain: str) -> list[dict[str, Any]]:
    """Per bucket: commented responses and the count and share of each theme."""
    totals: Counter[date] = Counter()
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for r in frame.rows.values():
        if (r.comment or "").strip():
            b = bucket_start(r.at.astimezone(f.tz).date(), grain)
            totals[b] += 1
            for name, _, _ in frame.links.get(r.id, []):
                counts[b][name] += 1
    return [{"start": b.isoformat(), "comments": totals[b],
             "themes": {t: {"count": n, "share": round(n / totals[b], 4)}
                        for t, n in sorted(counts[b].items())}} for b in sorted(totals)]


def emerging(current: Frame, baseline: Frame) -> list[dict[str, Any]]:
    """Themes whose share rose significantly versus the preceding period."""
    def shares(frame: Frame) -> tuple[Counter[str], int]:
        n = sum(1 for r in frame.rows.values() if (r.comment or "").strip())
        c: Counter[str] = Counter(name for ms in frame.links.values() for name, _, _ in ms)
        return c, n

    now_counts, n_now = shares(current)
    was_counts, n_was = shares(baseline)
    out = []
    if not n_now or not n_was:
        return out
    for name, k in now_counts.items():
        before = was_counts.get(name, 0)
        if k < EMERGING_MIN or k / n_now <= before / n_was:
            continue
        z, p = two_proportion_z_test(k, n_now, before, n_was)
        if p < EMERGING_P:
            out.append({"theme": name, "share": round(k / n_now, 4),
                        "baseline_share": round(before / n_was, 4), "z": round(z, 2),
                        "p_value": round(p, 5), "count": k})
    out.sort(key=lambda e: e["p_value"])
    return out


def verbatims(frame: Frame, theme: str, n: int = 3) -> list[dict[str, Any]]:
    """The most confidently tagged comments of a theme, newest first among equals."""
    found = [(conf, frame.rows[rid].at, rid, sent) for rid, ms in frame.links.items()
             for name, conf, sent in ms if name == theme and frame.rows[rid].comment]
    found.sort(key=lambda t: (-t[0], -t[1].timestamp()))
    return [{"response_id": rid, "comment": frame.rows[rid].comment, "sentiment": sent,
             "confidence": conf, "submitted_at": at.isoformat()}
            for conf, at, rid, sent in found[:n]]


def report(session: Session, f: Filters, *, grain: str = "week",
           examples: int = 3) -> dict[str, Any]:
    """Everything the theme report shows, in one read of the period and one of the previous."""
    frame = load(session, f)
    themes = summary(frame)
    for entry in themes:
        entry["examples"] = verbatims(frame, entry["theme"], examples)
    found = emerging(frame, load(session, f.previous()))
    flagged = {e["theme"] for e in found}
    for entry in themes:
        entry["emerging"] = entry["theme"] in flagged
    return {"themes": themes, "emerging": found, "buckets": trend(frame, f, grain)}


def responses(session: Session, theme: str, f: Filters, *, limit: int = 50,
              offset: int = 0, score_class: str | None = None) -> dict[str, Any]:
    """The responses of the period tagged with one theme (drill-down), newest first;
    `score_class` keeps only the unhappy, neutral or happy answers."""
    found = session.exec(select(Theme).where(Theme.name == theme)).first()
    if found is None:
        return {"theme": None, "responses": [], "total": 0}
    r = Response.__table__.c  # type: ignore[attr-defined]
    base = (sa.select(r.id, r.submitted_at, r.kind, r.score, r.classification, r.comment,
                      ResponseTheme.sentiment, ResponseTheme.confidence, ResponseTheme.source)
            .join(ResponseTheme, col(ResponseTheme.response_id) == r.id)
            .where(col(ResponseTheme.theme_id) == found.id, *_where(f)))
    if score_class == "unhappy":
        base = base.where(r.classification.in_(sorted(_NEG)))
    elif score_class == "happy":
        base = base.where(r.classification.in_(sorted(_POS)))
    elif score_class == "neutral":
        base = base.where(r.classification.not_in(sorted(_POS | _NEG)))
    total = session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(base.order_by(r.submitted_at.desc(), r.id.desc())
                           .limit(limit).offset(offset)).all()
    return {"theme": {"id": found.id, "name": found.name, "status": found.status},
            "total": total,
            "responses": [{"id": x.id, "submitted_at": x.submitted_at.isoformat(), "kind": x.kind,
                           "score": x.score, "classification": x.classification,
                           "comment": x.comment, "sentiment": x.sentiment,
                           "confidence": x.confidence, "source": x.source} for x in rows]}


def themes_for_responses(session: Session, response_ids: list[int]) -> dict[int, list[str]]:
    if not response_ids:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    stmt = (sa.select(ResponseTheme.response_id, Theme.name)
            .join(Theme, col(Theme.id) == ResponseTheme.theme_id)
            .where(col(ResponseTheme.response_id).in_(response_ids))
            .order_by(col(ResponseTheme.response_id), col(Theme.name)))
    for rid, name in session.execute(stmt):
        out[rid].append(name)
    return dict(out)


def theme_names(session: Session) -> list[str]:
    return list(session.exec(select(Theme.name).order_by(col(Theme.name))))
