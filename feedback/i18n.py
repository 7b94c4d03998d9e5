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
