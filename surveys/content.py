"""A survey version's content, and the wording a customer sees in their language.

Content (stored in `survey_version.content`):

    {"texts": {"en": {"question": "...", "why": "...", "low_label": "...", "high_label": "...",
                      "sms_question": "..."}, "fa": {...}, "zh-CN": {...}},
     "extra": [{"id": "resolved", "type": "yes_no" | "choice" | "text",
                "text": {"en": "Was your issue resolved?", "fa": "..."},
                "sms_text": {"en": "Resolved? Y/N"},
                "options": [{"id": "billing", "label": {"en": "Billing", "fa": "..."}}]}]}

A text left out for a language is never shown blank: the main question, "why" prompt and scale
labels fall back to the product's own wording in that language (the caller passes it), and an
extra question falls back to English, then to any language it has. The editor flags each gap.
"""

from __future__ import annotations

from typing import Any

LOCALES = ("en", "zh-CN", "fa")
TEXT_FIELDS = ("question", "why", "low_label", "high_label", "sms_question")
QUESTION_TYPES = ("yes_no", "choice", "text")


def pick(texts: dict[str, str] | None, locale: str) -> str | None:
    """`texts[locale]`, else English, else any language that has it."""
    texts = texts or {}
    for loc in (locale, "en", *texts):
        if texts.get(loc):
            return texts[loc]
    return None


def wording(content: dict[str, Any] | None, legacy: dict[str, Any] | None,
            locale: str) -> dict[str, str | None]:
    """The survey's own words for `locale` (None where the product's default applies).
    `legacy` is `survey_definition.questions` ({"en": {"question", "follow_up"}}), used by
    deployments that stored wording before surveys had versions."""
    if content:
        mine = (content.get("texts") or {}).get(locale) or {}
        return {f: mine.get(f) or None for f in TEXT_FIELDS}
    old = (legacy or {}).get(locale) or {}
    return {"question": old.get("question"), "why": old.get("follow_up"), "low_label": None,
            "high_label": None, "sms_question": None}


def extra_questions(content: dict[str, Any] | None, locale: str) -> list[dict[str, Any]]:
    """The extra questions as one customer sees them (texts resolved for `locale`)."""
    out = []
    for q in (content or {}).get("extra") or []:
        out.append({"id": q["id"], "type": q["type"], "text": pick(q.get("text"), locale) or q["id"],
                    "sms_text": pick(q.get("sms_text"), locale) or pick(q.get("text"), locale),
                    "options": [{"id": o["id"], "label": pick(o.get("label"), locale) or o["id"]}
                                for o in q.get("options") or []]})
    return out


def missing_translations(content: dict[str, Any]) -> list[str]:
    """Each text a language lacks while another language has it ("fa: why", "zh-CN:
    extra[0].text", "fa: extra[1].options[2]")."""
    out = []
    texts = content.get("texts") or {}
    for field in TEXT_FIELDS:
        if any((texts.get(loc) or {}).get(field) for loc in LOCALES):
            out += [f"{loc}: {field}" for loc in LOCALES if not (texts.get(loc) or {}).get(field)]
    for i, q in enumerate(content.get("extra") or []):
        for name in ("text", "sms_text"):
            have = q.get(name) or {}
            if any(have.get(loc) for loc in LOCALES):
                out += [f"{loc}: extra[{i}].{name}" for loc in LOCALES if not have.get(loc)]
        for j, o in enumerate(q.get("options") or []):
            out += [f"{loc}: extra[{i}].options[{j}]" for loc in LOCALES
                    if not (o.get("label") or {}).get(loc)]
    return out


def check_answer(question: dict[str, Any], raw: str) -> str | None:
    """The stored value of an answer to an extra question, or None for no (or a bad) answer."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if question["type"] == "yes_no":
        return raw if raw in ("yes", "no") else None
    if question["type"] == "choice":
        return raw if raw in {o["id"] for o in question.get("options") or []} else None
    return raw[:500]
