"""Jinja environment set-up shared by every page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedback import i18n
from feedback.settings import Settings


def _dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.strftime(fmt) if value else ""


def configure(env: Any, settings: Settings) -> None:
    env.globals.update(
        company=settings.company_name,
        public_url=settings.public_url,
        locales=i18n.available(),
        demo=settings.demo,
    )
    env.filters["dt"] = _dt


def page_context(locale: str, **extra: Any) -> dict[str, Any]:
    return {"locale": locale, "rtl": i18n.is_rtl(locale), "t": i18n.translator(locale), **extra}
