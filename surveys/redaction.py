"""PII redaction for free text a customer types (survey comments, SMS replies).

A pure function of the text and a `Redactor` (the tenant's phone regions and extra patterns):
e-mail addresses, phone numbers, payment card numbers (Luhn-checked), IBANs (mod-97-checked)
and configured patterns are replaced by typed placeholders — `[email]`, `[phone]`, `[card]`,
`[iban]`, `[<pattern name>]`. The raw text is never stored: redaction runs before the response
row is written (`surveys.service.clean_comment`), so nothing downstream — staff pages, exports,
digests, theme training — can leak what it never had.

Detection runs on a *shadow* of the text with the same length, in which every decimal digit of
any script (Persian ۰-۹, Arabic-Indic ٠-٩, full-width ０-９, …) and full-width ASCII is
replaced by its ASCII form, so "۰۹۱۲ ۳۴۵ ۶۷۸۹" is found as a phone number; the matched spans
are then replaced in the original text, leaving everything else exactly as the customer wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 13-19 digits, optionally in groups split by one space or dash (how cards are printed/typed).
CARD = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
# Country code, check digits, then 11-30 alphanumerics, optionally in groups of four.
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}")
MIN_PHONE_DIGITS = 7  # shorter "numbers" (a room, an amount) are never treated as phones


def _shadow_char(ch: str) -> str:
    if ch.isascii():
        return ch
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) == 1 and folded.isascii() and folded.isprintable():
        return folded  # full-width ＠ ＋ Ａ … read as their ASCII forms
    return ch


def shadow(text: str) -> str:
    """Same length as `text`, digits of every script and full-width ASCII folded to ASCII."""
    return "".join(_shadow_char(c) for c in text)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "").upper()
    if not (15 <= len(s) <= 34) or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


@dataclass(frozen=True)
class Redactor:
    """What to look for. `regions` are the tenant's phone regions (ISO 3166 codes such as "GB",
    "CN", "IR"): a national number is recognised in any of them; a number written with "+" is
    recognised whatever the regions. `patterns` are extra (name, regex) pairs from settings."""

    regions: tuple[str, ...] = ()
    patterns: tuple[tuple[str, str], ...] = ()
    _compiled: tuple[tuple[str, re.Pattern[str]], ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        compiled = []
        for name, pattern in self.patterns:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
                raise ValueError(f"redaction pattern name {name!r}: use lower-case letters, digits, _")
            try:
                compiled.append((name, re.compile(pattern)))
            except re.error as exc:
                raise ValueError(f"redaction pattern {name!r} is not a valid regex: {exc}") from exc
        object.__setattr__(self, "_compiled", tuple(compiled))

    def __call__(self, text: str) -> str:
        return redact(text, self)


def _spans_email(s: str) -> Iterable[tuple[int, int]]:
    return (m.span() for m in EMAIL.finditer(s))


def _spans_iban(s: str) -> Iterable[tuple[int, int]]:
    for m in IBAN.finditer(s):
        start, text = m.start(), m.group()
        # The pattern is greedy ("… 0130 00 thanks" would run on into "than"): take the longest
        # prefix that passes the mod-97 check.
        for end in range(len(text), 14, -1):
            if text[end - 1] != " " and iban_ok(text[:end]):
                yield start, start + end
                break


def _spans_card(s: str) -> Iterable[tuple[int, int]]:
    for m in CARD.finditer(s):
        digits = re.sub(r"[ -]", "", m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            yield m.span()


def _spans_phone(s: str, regions: tuple[str, ...]) -> Iterable[tuple[int, int]]:
    for region in (*regions, None) if regions else (None,):
        # Region None only finds numbers written internationally (+98 912 …). Strict grouping:
        # a valid number must also be grouped the way that region writes phone numbers (or
        # not at all), so an order number "2026-118734" is not read as a Washington number.
        for match in phonenumbers.PhoneNumberMatcher(s, region or "ZZ",
                                                      leniency=phonenumbers.Leniency.STRICT_GROUPING):
            if sum(c.isdigit() for c in match.raw_string) >= MIN_PHONE_DIGITS:
                yield match.start, match.end


def _replace(text: str, shadowed: str, spans: Iterable[tuple[int, int]],
             placeholder: str) -> tuple[str, str]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + placeholder + text[end:]
        shadowed = shadowed[:start] + placeholder + shadowed[end:]
    return text, shadowed


def redact(text: str, redactor: Redactor | None = None) -> str:
    """`text` with every recognised piece of personal data replaced by a typed placeholder.

    Order matters: e-mail addresses first (their digits are not phones), then IBANs and cards
    (a 16-digit card may also parse as a phone somewhere), then phones, then extra patterns."""
    r = redactor or Redactor()
    if not text:
        return text
    s = shadow(text)
    text, s = _replace(text, s, _spans_email(s), "[email]")
    text, s = _replace(text, s, list(_spans_iban(s)), "[iban]")
    text, s = _replace(text, s, list(_spans_card(s)), "[card]")
    text, s = _replace(text, s, list(_spans_phone(s, r.regions)), "[phone]")
    for name, pattern in r._compiled:
        text, s = _replace(text, s, [m.span() for m in pattern.finditer(s) if m.end() > m.start()],
                           f"[{name}]")
    return text
