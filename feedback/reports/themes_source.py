"""The one place reports touch comment themes (feedback.insights): its tables and analytics.

Imported lazily: without the insights module, or before a model has been trained, every theme
view renders a friendly "no themes yet" state instead of failing. The theme report, the
drill-down and the themes column of the response export all go through the functions below,
so a change in insights' tables is fixed here only.
"""

from __future__ import annotations

from datetime import datetime
from types import ModuleType
from typing import Any

from sqlmodel import Session

from feedback.reports.figures import Filters, optional_module

ABSENT = "absent"  # the insights module is not installed
UNTRAINED = "untrained"  # installed, but no theme has been assigned to any response yet
READY = "ready"
MIN_N = 5  # mirrors feedback.insights.analytics.MIN_N (that module is optional here)


def _parts() -> tuple[ModuleType, ModuleType] | None:
    models, analytics = optional_module("feedback.insights.models"), optional_module("feedback.insights.analytics")
    if models is None or analytics is None:
        return None
    return models, analytics


def state(session: Session) -> str:
    parts = _parts()
    if parts is None:
        return ABSENT
    return READY if _has_links(session, parts[0]) else UNTRAINED


def _has_links(session: Session, models: ModuleType) -> bool:
    parts = _parts()
    return parts is not None and bool(parts[1].has_links(session))


def empty_report(status: str) -> dict[str, Any]:
    return {"state": status, "themes": [], "emerging": [], "buckets": []}


def theme_report(session: Session, f: Filters, now: datetime, *, grain: str = "week",
                 examples: int = 3) -> dict[str, Any]:
    """Themes ranked by volume and impact, with sentiment, trend, emerging flag and examples."""
    status = state(session)
    if status != READY:
        return empty_report(status)
    analytics = _parts()[1]  # type: ignore[index]
    return {"state": status, **analytics.report(session, f, grain=grain, examples=examples)}


def theme_responses(session: Session, theme: str, f: Filters, *, limit: int = 50,
                    offset: int = 0, score_class: str | None = None) -> dict[str, Any]:
    """The responses tagged with one theme (drill-down)."""
    status = state(session)
    if status != READY:
        return {"state": status, "theme": None, "responses": [], "total": 0}
    analytics = _parts()[1]  # type: ignore[index]
    extra = {"score_class": score_class} if score_class else {}
    return {"state": status, **analytics.responses(session, theme, f, limit=limit, offset=offset,
                                                   **extra)}


def themes_for_responses(session: Any, response_ids: list[int]) -> dict[int, list[str]]:
    """response id → theme labels, for the response export (empty without insights)."""
    parts = _parts()
    return {} if parts is None else parts[1].themes_for_responses(session, response_ids)


def names(session: Any) -> list[str]:
    """Every theme name of the taxonomy (suggestions when a lead tags a response)."""
    parts = _parts()
    return [] if parts is None else list(parts[1].theme_names(session))
