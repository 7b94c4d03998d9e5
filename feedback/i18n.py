"""Message catalogs (feedback/locales/*.json) and locale resolution.

Customers get their own language; anything missing in a catalog falls back to English rather
than showing a key. Right-to-left languages are flagged so pages set `dir="rtl"`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT = "en"
RTL = {"fa", "ar", "he", "ur"}
# Aliases people and CRMs actually send, mapped to the catalogs we ship.
_ALIASES = {
    "zh": "zh-CN",
    "zh-cn": "zh-CN",
    "zh-hans": "zh-CN",
    "zh-sg": "zh-CN",
    "zh-hans-cn": "zh-CN",
    "fa": "fa",
    "fa-ir": "fa",
    "fa-af": "fa",
    "prs": "fa",
    "en": "en",
    "en-us": "en",
    "en-gb": "en",
}


@lru_cache(maxsize=1)
def available() -> dict[str, str]:
    return {p.stem: _load(p.stem)["_name"] for p in sorted(LOCALES_DIR.glob("*.json"))}


@lru_cache(maxsize=16)
def _load(locale: str) -> dict[str, str]:
    return json.loads((LOCALES_DIR / f"{locale}.json").read_text(encoding="utf-8"))


def accepted_languages(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first (RFC 9110: by q-weight, ties
    in the order given; q=0 means "not this one")."""
    weighted = []
    for i, part in enumerate(header.split(",")[:50]):
        tag, *opts = (x.strip() for x in part.split(";"))
        q = 1.0
        for opt in opts:
            name, _, value = opt.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and tag != "*" and q > 0:
            weighted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(weighted)]


def resolve(tag: str | None, accept_language: str | None = None) -> str:
    """Map a locale tag (or an Accept-Language header) to a catalog we have."""
    candidates: list[str] = []
    if tag:
        candidates.append(tag)
    if accept_language:
        candidates.extend(accepted_languages(accept_language))
    have = available()
    for cand in candidates:
        low = cand.replace("_", "-").lower()
        if low in _ALIASES and _ALIASES[low] in have:
            return _ALIASES[low]
        base = low.split("-")[0]
        if base in _ALIASES and _ALIASES[base] in have:
            return _ALIASES[base]
        for name in have:
            if name.lower() == low or name.lower().split("-")[0] == base:
                return name
    return DEFAULT


def is_rtl(locale: str) -> bool:
    return locale.split("-")[0].lower() in RTL


def t(locale: str, key: str, **params: Any) -> str:
    text = _load(locale).get(key) if locale in available() else None
    if text is None:
        text = _load(DEFAULT).get(key, key)
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError):
        return text


def translator(locale: str) -> Any:
    def _t(key: str, **params: Any) -> str:
        return t(locale, key, **params)

    return _t


# --- staff pages: the viewer's language, and numbers/dates/plurals through Babel ---------------
# Staff pages and customer pages read the same catalogues; staff keys carry the prefix `staff.`.
# The viewer's language is their choice (the `ui_lang` cookie, set by POST /language from the
# switcher in the navigation), else their browser's Accept-Language, else English — negotiated
# by `resolve` above, the one negotiation helper of the project.

COOKIE = "ui_lang"
# Babel formats with CLDR's symbols but always writes Latin digits; a locale whose default
# numbering system is another script (Persian: arabext) gets its digits here.
_DIGITS = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩"}


def request_locale(request: Any) -> str:
    """The language of the page this request asks for (duck-typed: any object with `cookies`
    and `headers`, e.g. a Litestar Request). Cached on the request scope."""
    if request is None:
        return DEFAULT
    scope = getattr(request, "scope", None)
    state = scope.setdefault("state", {}) if isinstance(scope, dict) else {}
    if "ui_locale" not in state:
        chosen = request.cookies.get(COOKIE) if hasattr(request, "cookies") else None
        state["ui_locale"] = resolve(chosen, request.headers.get("accept-language"))
    return str(state["ui_locale"])


@lru_cache(maxsize=16)
def _babel(locale: str) -> Any:
    from babel import Locale

    try:
        return Locale.parse(locale.replace("-", "_"))
    except (ValueError, LookupError):
        return Locale.parse("en")


def localise_digits(locale: str, text: str) -> str:
    """Latin digits in `text` written in the locale's own digits (Persian ۰–۹)."""
    table = _DIGITS.get(_babel(locale).default_numbering_system or "latn")
    return text.translate(str.maketrans("0123456789", table)) if table else text


def number(locale: str, value: float | int | None, decimals: int | None = None,
           *, sign: bool = False) -> str:
    """A number the reader's way: grouping, decimal mark, digits ("1,234.5", "۱٬۲۳۴٫۵")."""
    from babel.numbers import format_decimal

    if value is None:
        return "—"
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    text = format_decimal(value, format=pattern, locale=_babel(locale),
                          numbering_system="default")
    if sign and value > 0:
        text = "+" + text
    return localise_digits(locale, text)


def percent(locale: str, value: float | None, decimals: int = 1) -> str:
    """`value` is already a percentage (67.9 → "67.9%", "٪۶۷٫۹")."""
    from babel.numbers import format_percent

    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return localise_digits(locale, format_percent(value / 100, format=pattern,
                                                  locale=_babel(locale),
                                                  numbering_system="default"))


def when(locale: str, value: Any, tz: Any = None, *, date: str = "yMMMd", time: str = "Hm") -> str:
    """A date-time in the reader's language and zone `tz` (a name or ZoneInfo; UTC if None),
    from CLDR skeletons joined the locale's way: "Nov 2, 2026, 14:05" / "2026年11月2日 14:05"."""
    from babel.dates import format_skeleton, get_timezone

    if value is None:
        return ""
    if isinstance(value, str):  # an ISO timestamp from an API-shaped dict
        from datetime import datetime

        value = datetime.fromisoformat(value)
    loc = _babel(locale)
    zone = get_timezone(tz) if isinstance(tz, str) else tz
    local = value.astimezone(zone) if zone is not None and value.tzinfo else value
    parts = [format_skeleton(s, local, locale=loc) for s in (date, time) if s]
    text = parts[0] if len(parts) == 1 else str(loc.datetime_formats["medium"]).format(
        parts[1], parts[0])
    return localise_digits(locale, text)


def day(locale: str, value: Any, skeleton: str = "yMMMd") -> str:
    """A calendar date ("Nov 2, 2026"); a datetime is shown as its own (already local) date."""
    from babel.dates import format_skeleton

    if value is None:
        return ""
    if isinstance(value, str):  # an ISO date from an API-shaped dict
        from datetime import date

        value = date.fromisoformat(value[:10])
    return localise_digits(locale, format_skeleton(skeleton, value, locale=_babel(locale)))


def plural_key(locale: str, key: str, n: float) -> str:
    """`key.one` or `key.other` (CLDR plural rules); catalogues with one form use `.other`."""
    form = _babel(locale).plural_form(abs(n))
    wanted = f"{key}.{form}"
    if wanted in _load(locale if locale in available() else DEFAULT):
        return wanted
    return f"{key}.other"
