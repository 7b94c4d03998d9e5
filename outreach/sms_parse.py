"""Understanding a customer's SMS reply: a keyword, a score (with a comment), or just words.

Replies come from phones in English, Chinese and Persian: digits may be ASCII, full-width
(０-９), Persian (۰-۹) or Arabic-Indic (٠-٩); short replies may spell the number. The parser
is deliberately conservative where a number word is also an ordinary word ("one of the best",
"一般" = so-so, Persian "نه" = "no"): a wrongly read score is worse than asking again, because
a misread 1 opens a service-recovery case for a happy customer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

ReplyKind = Literal[
    "opt_out", "opt_in", "help", "score", "out_of_range", "comment_only", "empty",
]

# Twilio's standard keywords; a reply that is exactly one of these (ignoring case, whitespace
# and punctuation) is a keyword, never a comment — like Twilio, which only acts on single-word
# replies ("STOP PLEASE" is not an opt-out), since "cancel my order" is feedback. Twilio blocks
# sending after an opt-out keyword, so we must record it too. OPTOUT/REVOKE are added because
# honouring one opt-out too many is the safe side. YES is not an opt-in here (Twilio treats
# it as one): it is too likely to be an answer ("yes, resolved").
OPT_OUT = frozenset({
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE",
    "退订", "TD", "取消订阅",  # China: "回复TD退订" is the customary opt-out
    "لغو",  # Persian "cancel", the customary opt-out word in Iran
})
OPT_IN = frozenset({"START", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})

_EN_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
             "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_FA_WORDS = {"صفر": 0, "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7,
             "هشت": 8, "نه": 9, "ده": 10}
# "نه" is also "no": alone it is not read as 9 (only "نه از ده" / "نه/۱۰" are).
_FA_AMBIGUOUS = frozenset({"نه"})
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}

# Separators between a score and its comment: whitespace and common punctuation of the three
# languages (dashes, colons, commas, full stops, exclamation/question marks, brackets).
_PUNCT = "-–—:;,.!?~)(*\"'،؛؟，。！？：；、（）"
_SEP = frozenset(_PUNCT) | frozenset(" \t\r\n")

# "I'd give 8", "I would give it a 9", "score: 7", "rating 4" (English only, cheap).
_LEAD_IN = re.compile(
    r"(?:(?:i(?:'d|’d| would)?\s+give(?:\s+(?:it|you|you guys|them|him|her|us))?"
    r"(?:\s+an?)?)|score|rating|my\s+score\s+is|my\s+rating\s+is)\s*[:=]?\s*",
    re.IGNORECASE,
)
# Patterns below are used with `pattern.match(text, pos)`, which anchors at `pos`.
_DIGITS = re.compile(r"(\d{1,6})(?!\d)")
_DECIMAL_OR_TIME = re.compile(r"[.,:٫]\d")  # 9.5 · 9,5 · 9:30
_WORD = re.compile(r"[^\W\d_]+")  # a run of letters of any script
_DENOMINATOR = re.compile(
    r"\s*(?:/|out\s+of\s+|of\s+|از\s+)\s*(\d{1,3}(?!\d)|[^\W\d_]+)",
    re.IGNORECASE,
)
_ZH_UNIT = re.compile(r"\s*(?:分|颗星|星)")
_RANGE = re.compile(r"\s*[-–—]\s*\d+\s*$")


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """`score` is set for kind "score"; `number` for "out_of_range" (the number they sent);
    `comment` is the customer's own text after the score (or all of it for "comment_only"),
    unnormalized. `keyword` is the matched keyword for opt_out/opt_in/help."""

    kind: ReplyKind
    score: int | None = None
    number: int | None = None
    comment: str | None = None
    keyword: str | None = None


def normalize(text: str) -> tuple[str, list[int]]:
    """Text for matching, and for each of its characters the index of its source character.

    Per character: NFKC (full-width → ASCII, Arabic presentation forms → letters), every
    decimal digit → ASCII, Arabic yeh/kaf → Persian (phones differ in which they type), ZWNJ →
    space. The map lets the comment be cut from the customer's original text, unaltered.
    """
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isdecimal() and not c.isascii():
                c = str(unicodedata.decimal(c))
            c = {"ي": "ی", "ك": "ک", "\u200c": " "}.get(c, c)
            chars.append(c)
            origin.append(index)
    origin.append(len(text))
    return "".join(chars), origin


def _is_edge_noise(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZ"


def _keyword_core(text: str) -> str:
    # Strip punctuation, symbols (emoji) and whitespace at both ends: "  Stop!! " → "STOP".
    start, end = 0, len(text)
    while start < end and _is_edge_noise(text[start]):
        start += 1
    while end > start and _is_edge_noise(text[end - 1]):
        end -= 1
    return text[start:end].upper()


def _word_number(word: str) -> int | None:
    value = _EN_WORDS.get(word.lower())
    return value if value is not None else _FA_WORDS.get(word)


def _zh_number(text: str, pos: int) -> tuple[int, int] | None:
    """(value, end) of a Chinese numeral 0–99 at `pos` (一, 十, 十一, 二十, 九十九)."""
    def digit(i: int) -> int | None:
        return _ZH_DIGITS.get(text[i]) if i < len(text) else None

    if pos < len(text) and text[pos] == "十":
        unit = digit(pos + 1)
        return (10 + unit, pos + 2) if unit else (10, pos + 1)
    tens = digit(pos)
    if tens is None:
        return None
    if tens > 0 and pos + 1 < len(text) and text[pos + 1] == "十":
        unit = digit(pos + 2)
        return (tens * 10 + unit, pos + 3) if unit else (tens * 10, pos + 2)
    return tens, pos + 1


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _leading_number(text: str, pos: int) -> tuple[int, int, str | None] | None:
    """(number, end, word) for a score-looking start at `pos`, else None.

    `word` is the number word when the number was spelled in English or Persian; such a word
    counts only when it stands alone, before punctuation, or before an explicit scale.
    """
    match = _DIGITS.match(text, pos)
    if match:
        end = match.end()
        if _DECIMAL_OR_TIME.match(text, end):
            return None
        if end < len(text) and text[end].isalpha() and not _ZH_UNIT.match(text, end):
            return None  # 3rd, 24h, 10min, 1个, ۳تا: an ordinal or a quantity, not a score
        return int(match.group(1)), end, None
    zh = _zh_number(text, pos)
    if zh is not None:
        value, end = zh
        after = text[end:end + 2]
        if value == 10 and after[:1] == "分" and len(after) == 2 and _is_han(after[1]):
            return None  # "十分满意": 十分 is the adverb "very", not "ten points"
        if _ZH_UNIT.match(text, end) or not after or not _is_han(after[0]):
            return value, end, None
        return None  # 一般, 一直, 三思: the numeral is part of a word
    word = _WORD.match(text, pos)
    if word:
        value = _word_number(word.group(0))
        if value is not None:
            return value, word.end(), word.group(0)
    return None


def _denominator(text: str, pos: int) -> tuple[int | None, int]:
    match = _DENOMINATOR.match(text, pos)
    if not match:
        return None, pos
    token = match.group(1)
    value = int(token) if token.isdigit() else _word_number(token)
    if value is None:
        return None, pos  # "of the best" is not a scale
    return value, match.end()


def _comment(original: str, start: int) -> str | None:
    end = len(original)
    while start < end and unicodedata.normalize("NFKC", original[start]) in _SEP:
        start += 1
    comment = original[start:].strip()
    return comment or None


def parse_reply(text: str, scale_min: int, scale_max: int) -> ParsedReply:
    """Classify one SMS reply for a survey whose scores run from `scale_min` to `scale_max`."""
    if scale_min > scale_max:
        raise ValueError("scale_min > scale_max")
    original = text or ""
    norm, origin = normalize(original)
    if not norm.strip():
        return ParsedReply("empty")
    core = _keyword_core(norm)
    for kind, words in (("opt_out", OPT_OUT), ("opt_in", OPT_IN), ("help", HELP)):
        if core in words:
            return ParsedReply(kind, keyword=core)  # type: ignore[arg-type]

    whole = ParsedReply("comment_only", comment=original.strip())
    pos = len(norm) - len(norm.lstrip())
    lead_in = _LEAD_IN.match(norm, pos)
    if lead_in:
        pos = lead_in.end()
    leading = _leading_number(norm, pos)
    if leading is None:
        return whole
    number, pos, word = leading
    denominator, pos = _denominator(norm, pos)
    unit = _ZH_UNIT.match(norm, pos)
    if unit:
        pos = unit.end()
    rest = norm[pos:].lstrip()

    # A spelled number must stand alone or before punctuation: "one of the best" is not 1.
    # Persian "نه" is also "no", so it only counts with a scale ("نه از ده").
    if word is not None and denominator is None and (
            word in _FA_AMBIGUOUS or (rest and rest[0] not in _PUNCT)):
        return whole
    if denominator is None and _RANGE.match(norm, pos):
        return whole  # "8-9": a range, not a score

    comment = _comment(original, origin[pos])
    if (denominator is not None and denominator != scale_max) or not (
            scale_min <= number <= scale_max):
        # 11 on 0–10, or "4/5" sent to a 0–10 survey: rescaling would be a guess, so the
        # dispatcher asks again with the range.
        return ParsedReply("out_of_range", number=number, comment=comment)
    return ParsedReply("score", score=number, comment=comment)
