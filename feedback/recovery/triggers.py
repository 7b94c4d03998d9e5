"""When a response calls for recovery, and how urgent it is.

Triggers are strings stored on the task so people see *why* it exists: "score" (the answer is
in the negative class of its kind), "keyword:cancel", "theme:billing". Priority comes from the
score, the customer's tier and whether this customer was unhappy recently.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.insights import analytics
from feedback.insights import service as insights
from feedback.recovery.models import Priority
from surveys.models import Customer, Response
from surveys.scoring import NEGATIVE, POSITIVE, SCALES, SurveyKind

_NEGATIVE = {c.value for c in NEGATIVE}
_POSITIVE = {c.value for c in POSITIVE}
# Scripts written without spaces between words: a keyword there matches anywhere.
_NO_SPACES = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# Arabic-script letters people type interchangeably in Persian, and the zero-width non-joiner
# inside words: "شكايت" (Arabic kaf/yeh) must match the keyword "شکایت".
_PERSIAN = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9",
                          "\u200c": " ", "\u0640": None})


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_PERSIAN).casefold()


@lru_cache(maxsize=32)
def _patterns(keywords: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for raw in keywords:
        word = normalize(raw.strip())
        prefix = word.endswith("*")
        word = word.rstrip("*").strip()
        if not word:
            continue
        body = r"\s+".join(re.escape(part) for part in word.split())
        if _NO_SPACES.search(word):
            pattern = body
        else:
            pattern = r"(?<!\w)" + body + ("" if prefix else r"(?!\w)")
        out.append((raw.strip().rstrip("*"), re.compile(pattern)))
    return tuple(out)


def matched_keywords(comment: str | None, keywords: Iterable[str]) -> list[str]:
    if not comment:
        return []
    text = normalize(comment)
    return [name for name, rx in _patterns(tuple(keywords)) if rx.search(text)]


def response_themes(session: Session, response: Response) -> list[str]:
    """The themes insights tagged on this response."""
    return [] if response.id is None else insights.themes_for(session, response.id)


def theme_names(session: Session) -> list[str]:
    """The taxonomy's theme names (a lead's suggestions when correcting)."""
    return [str(t) for t in analytics.theme_names(session)]


def evaluate(response: Response, settings: Any, themes: list[str]) -> list[str]:
    """The reasons this response calls for recovery; empty when it does not."""
    reasons: list[str] = []
    if response.classification in _NEGATIVE:
        reasons.append("score")
    if response.classification not in _POSITIVE or settings.recovery_keywords_on_positive:
        reasons += [f"keyword:{k}" for k in matched_keywords(response.comment,
                                                             settings.recovery_keywords)]
        wanted = {normalize(t) for t in settings.recovery_trigger_themes}
        reasons += [f"theme:{t}" for t in themes if normalize(t) in wanted]
    return reasons


def is_very_low(kind: str, score: int) -> bool:
    """The bottom fifth of the scale (NPS 0–2, CSAT 1, CES 1): the angriest answers."""
    scale = SCALES[SurveyKind(kind)]
    return score <= scale.low + (scale.high - scale.low) // 5


def is_vip(customer: Customer | None, settings: Any) -> bool:
    tier = (customer.tier or "").strip().casefold() if customer else ""
    return bool(tier) and tier in {t.casefold() for t in settings.recovery_vip_tiers}


def had_recent_negative(session: Session, response: Response, days: int) -> bool:
    """Another negative answer from this customer within `days` before this one."""
    r = Response.__table__.c  # type: ignore[attr-defined]
    since: datetime = response.submitted_at - timedelta(days=days)
    stmt = sa.select(r.id).where(
        r.customer_id == response.customer_id, r.id != response.id,
        r.classification.in_(_NEGATIVE), r.submitted_at >= since,
        r.submitted_at <= response.submitted_at).limit(1)
    return session.execute(stmt).first() is not None


def priority_for(*, very_low: bool, vip: bool, repeat: bool) -> Priority:
    rank = 1 + int(very_low) + int(vip)
    if repeat:
        rank = max(rank + 1, 2)
    return [Priority.NORMAL, Priority.HIGH, Priority.URGENT][min(rank, 3) - 1]
