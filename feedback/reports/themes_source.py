"""The one place reports touch comment themes (feedback.insights): its tables and analytics.

Before a model has been trained every theme view renders a friendly "no themes yet" state
instead of an empty chart. The theme report, the drill-down and the themes column of the
response export all go through the functions below, so a change in insights' tables is fixed
here only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from feedback.insights import analytics
from feedback.insights.analytics import MIN_N
from feedback.reports.figures import Filters

__all__ = ["MIN_N", "READY", "UNTRAINED", "names", "state", "theme_report", "theme_responses",
           "themes_for_responses"]

UNTRAINED = "untrained"  # no theme has been assigned to any response yet
READY = "ready"


def state(session: Session) -> str:
    return READY if analytics.has_links(session) else UNTRAINED


def empty_report(status: str) -> dict[str, Any]:
    return {"state": status, "themes": [], "emerging": [], "buckets": []}


def theme_report(session: Session, f: Filters, now: datetime, *, grain: str = "week",
                 examples: int = 3) -> dict[str, Any]:
    """Themes ranked by volume and impact, with sentiment, trend, emerging flag and examples."""
    status = state(session)
    if status != READY:
        return empty_report(status)
    return {"state": status, **analytics.report(session, f, grain=grain, examples=examples)}


def theme_responses(session: Session, theme: str, f: Filters, *, limit: int = 50,
                    offset: int = 0, score_class: str | None = None) -> dict[str, Any]:
    """The responses tagged with one theme (drill-down)."""
    status = state(session)
    if status != READY:
        return {"state": status, "theme": None, "responses": [], "total": 0}
    extra = {"score_class": score_class} if score_class else {}
    return {"state": status, **analytics.responses(session, theme, f, limit=limit, offset=offset,
                                                   **extra)}


def themes_for_responses(session: Any, response_ids: list[int]) -> dict[int, list[str]]:
    """response id → theme labels, for the response export."""
    return analytics.themes_for_responses(session, response_ids)


def names(session: Any) -> list[str]:
    """Every theme name of the taxonomy (suggestions when a lead tags a response)."""
    return list(analytics.theme_names(session))
