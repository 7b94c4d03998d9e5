"""The theme report cross-checked against the raw rows: every figure a lead reads is
recomputed here from `response` and `response_theme` by plain counting, so the counts, the
sentiment split, the unhappy share and the impact cannot drift apart again."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from feedback.insights import analytics, service
from feedback.insights.models import ResponseTheme, Theme
from feedback.reports import datasets, themes_source
from feedback.reports.figures import Filters
from surveys.models import Response

MARCH = Filters(start_day=date(2026, 3, 1), end_day=date(2026, 3, 14))


def _populate(session: Session, answer, clock) -> None:  # type: ignore[no-untyped-def]
    """60 answers, some without comments; themes with mixed, neutral and missing sentiments,
    and one theme with fewer than MIN_N mentions."""
    rng = random.Random(5)
    sentiments = ["positive", "negative", "neutral", None]
    for n in range(1, 61):
        score = rng.choice([0, 3, 6, 7, 8, 9, 10])
        comment = None if n % 7 == 0 else f"comment {n}"
        response = answer(n=n, score=score, comment=comment)
        if comment is None:
            continue
        labels = []
        if n % 2:
            labels.append(("wait time", rng.choice(sentiments)))
        if n % 3 == 0:
            labels.append(("billing", rng.choice(sentiments)))
        if n in (4, 8):
            labels.append(("parking", "negative"))
        service.correct_response(session, int(response.id or 0), labels, now=clock.now,
                                 reviewer="lead@example.com")
        session.commit()


def _raw(session: Session) -> tuple[int, dict[str, list[tuple[int, str | None]]]]:
    """(commented responses, theme → [(score polarity, mention sentiment)]) straight from SQL."""
    r = Response.__table__.c  # type: ignore[attr-defined]
    where = [r.submitted_at >= MARCH.start, r.submitted_at < MARCH.end]
    commented = session.execute(sa.select(sa.func.count()).where(
        *where, sa.func.length(sa.func.trim(r.comment)) > 0)).scalar_one()
    polarity = {"promoter": 1, "detractor": -1}
    out: dict[str, list[tuple[int, str | None]]] = {}
    for name, cls, sentiment in session.execute(
            sa.select(Theme.name, r.classification, ResponseTheme.sentiment)  # type: ignore[call-overload]
            .join(ResponseTheme, ResponseTheme.theme_id == Theme.id)
            .join(Response.__table__, r.id == ResponseTheme.response_id).where(*where)):
        out.setdefault(name, []).append((polarity.get(cls, 0), sentiment))
    return commented, out


def test_theme_report_agrees_with_the_raw_rows(session, answer, clock) -> None:  # type: ignore[no-untyped-def]
    _populate(session, answer, clock)
    report = themes_source.theme_report(session, MARCH, clock.now)
    assert report["state"] == themes_source.READY
    commented, raw = _raw(session)
    by_name = {t["theme"]: t for t in report["themes"]}
    assert set(by_name) == set(raw) == {"wait time", "billing", "parking"}
    for name, mentions in raw.items():
        t = by_name[name]
        # The one definition of unhappy: a negative mention, or a negative score when the
        # mention has no sentiment.
        signs = [{"positive": 1, "negative": -1, "neutral": 0}.get(s, p) if s else p
                 for p, s in mentions]
        mood = Counter({1: "positive", 0: "neutral", -1: "negative"}[v] for v in signs)
        assert t["count"] == len(mentions) and t["commented"] == commented
        assert t["sentiment"] == {k: mood[k] for k in ("positive", "neutral", "negative")}
        assert sum(t["sentiment"].values()) == t["count"]
        assert t["share"] == round(len(mentions) / commented, 4)  # n = the commented ones
        if len(mentions) < analytics.MIN_N:
            assert not t["enough_data"]
            assert t["unhappy"] is None and t["impact"] is None and t["key_driver"] is None
            continue
        assert t["unhappy"] == round(mood["negative"] / len(mentions), 4)
        assert t["impact"] == round(100.0 * (mood["positive"] - mood["negative"]) / commented, 1)
        # The impact's sign follows the sentiment counts; every interval holds its figure.
        assert (t["impact"] > 0) == (mood["positive"] > mood["negative"])
        for key in ("share", "unhappy", "impact", "net_with"):
            low, high = t[f"{key}_interval"]
            assert low <= t[key] <= high, (name, key)
        with_scores = [p for p, _ in mentions]
        assert t["net_with"] == round(100.0 * sum(with_scores) / len(with_scores), 1)
    # The neutral mentions are shown (the demo and score-trained models once had none).
    assert by_name["wait time"]["sentiment"]["neutral"] > 0
    # The CSV a lead downloads says the same, with "no data" as an empty cell.
    header, rows = datasets.themes_table(report)
    table = list(csv.DictReader(io.StringIO(
        ",".join(header) + "\n" + "\n".join(",".join("" if v is None else str(v) for v in row)
                                             for row in rows))))
    parking = next(row for row in table if row["theme"] == "parking")
    assert parking["unhappy_pct"] == "" and parking["impact_points"] == "" \
        and parking["negative"] == "2" and parking["share_pct"] != ""


def test_themes_page_shows_no_data_and_intervals(api, session, answer, clock) -> None:  # type: ignore[no-untyped-def]
    _populate(session, answer, clock)
    html = api.get("/reports/themes", params={"from": "2026-03-01", "to": "2026-03-14"}).text
    parking = html[html.index('data-theme="parking"'):]
    parking = parking[:parking.index("</li>")]
    assert "no data" in parking and "unhappy" in parking and "0.0 %" not in parking
    wait = html[html.index('data-theme="wait time"'):]
    assert "% unhappy" in wait[:wait.index("</li>")] and "n=" in wait[:wait.index("</li>")]
