"""SMS reply parsing: keywords, scores with comments, three scripts, and the traps."""

from __future__ import annotations

import pytest

from outreach.sms_parse import ParsedReply, parse_reply

NPS = (0, 10)
CSAT = (1, 5)


def score(n: int, comment: str | None = None) -> ParsedReply:
    return ParsedReply("score", score=n, comment=comment)


def comment_only(text: str) -> ParsedReply:
    return ParsedReply("comment_only", comment=text)


def out_of_range(n: int, comment: str | None = None) -> ParsedReply:
    return ParsedReply("out_of_range", number=n, comment=comment)


@pytest.mark.parametrize(("text", "kind", "keyword"), [
    ("STOP", "opt_out", "STOP"), ("stop", "opt_out", "STOP"), ("  Stop. ", "opt_out", "STOP"),
    ("StopAll", "opt_out", "STOPALL"), ("unsubscribe!", "opt_out", "UNSUBSCRIBE"),
    ("Cancel", "opt_out", "CANCEL"), ("end", "opt_out", "END"), ("QUIT", "opt_out", "QUIT"),
    ("STOP 🙏", "opt_out", "STOP"), ("ＳＴＯＰ", "opt_out", "STOP"),
    ("退订", "opt_out", "退订"), ("td", "opt_out", "TD"), ("لغو", "opt_out", "لغو"),
    ("START", "opt_in", "START"), ("unstop", "opt_in", "UNSTOP"),
    ("help", "help", "HELP"), ("Info?", "help", "INFO"),
])
def test_keywords(text: str, kind: str, keyword: str) -> None:
    assert parse_reply(text, *NPS) == ParsedReply(kind, keyword=keyword)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [
    "yes", "YES", "Stop texting me", "please cancel my order", "the end", "helpful agent",
    "started well",
])
def test_keyword_lookalikes_are_comments(text: str) -> None:
    assert parse_reply(text, *NPS) == comment_only(text)


@pytest.mark.parametrize(("text", "expected"), [
    # digits alone and with comments
    ("9", score(9)), ("10", score(10)), ("0", score(0)), (" 7 ", score(7)),
    ("9 great agent", score(9, "great agent")),
    ("9/10 – quick", score(9, "quick")),
    ("9 - quick", score(9, "quick")),
    ("10! loved it", score(10, "loved it")),
    ("10/10", score(10)), ("9 / 10", score(9)), ("9 out of 10", score(9)),
    ("9 out of 10, fast and kind", score(9, "fast and kind")),
    ("8: waited too long", score(8, "waited too long")),
    ("9\nthe agent was great", score(9, "the agent was great")),
    ("9 of us waited", score(9, "of us waited")),
    ("I'd give 8", score(8)), ("I would give it a 9 - nice", score(9, "nice")),
    ("Score: 7", score(7)),
    # number words (English) only alone, before punctuation or with a scale
    ("nine", score(9)), ("Ten!", score(10)), ("Nine - great", score(9, "great")),
    ("ten, loved it", score(10, "loved it")), ("nine out of ten", score(9)),
    ("zero", score(0)),
    # full-width, Persian and Arabic-Indic digits
    ("１０", score(10)), ("９，很好", score(9, "很好")), ("۹", score(9)), ("٩", score(9)),
    ("۱۰", score(10)), ("٨ سريع", score(8, "سريع")),
    ("۹ از ۱۰ عالی بود", score(9, "عالی بود")), ("۹/۱۰", score(9)),
    # Chinese numerals and units
    ("九", score(9)), ("十", score(10)), ("〇", score(0)), ("零", score(0)),
    ("九分", score(9)), ("九分，服务很好", score(9, "服务很好")),
    ("九 服务很好", score(9, "服务很好")), ("10分", score(10)), ("十分", score(10)),
    ("8分 还行", score(8, "还行")),
    # Persian number words
    ("ده", score(10)), ("هشت", score(8)), ("هفت، خوب بود", score(7, "خوب بود")),
    ("نه از ده", score(9)),
    # the comment keeps the customer's own characters (full-width punctuation, ZWNJ)
    ("９！服务很好！", score(9, "服务很好！")),
    ("۹ می\u200cخواهم", score(9, "می\u200cخواهم")),
])
def test_scores_on_nps_scale(text: str, expected: ParsedReply) -> None:
    assert parse_reply(text, *NPS) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("11", out_of_range(11)), ("100", out_of_range(100)), ("十一", out_of_range(11)),
    ("二十", out_of_range(20)), ("12 terrible", out_of_range(12, "terrible")),
    ("4/5", out_of_range(4)),  # a 5-point answer to a 0–10 survey: ask again, do not rescale
    ("8/9 ok", out_of_range(8, "ok")),
])
def test_out_of_range_on_nps(text: str, expected: ParsedReply) -> None:
    assert parse_reply(text, *NPS) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("5", score(5)), ("1", score(1)), ("0", out_of_range(0)), ("6", out_of_range(6)),
    ("5/5 perfect", score(5, "perfect")), ("9/10", out_of_range(9)), ("五星好评", score(5, "好评")),
    ("4星", score(4)), ("five", score(5)), ("سه", score(3)),
])
def test_csat_scale(text: str, expected: ParsedReply) -> None:
    assert parse_reply(text, *CSAT) == expected


@pytest.mark.parametrize("text", [
    # no leading score at all
    "great service", "The agent was rude", "谢谢", "خیلی خوب بود", "👍",
    # numbers that are not a whole score
    "9.5", "9,5", "9:30 call was fine", "۹٫۵",
    # ordinals and quantities
    "3rd time calling", "1st contact", "24h wait", "10min wait", "1个问题", "۳تا مشکل",
    # ranges
    "8-9", "8 - 9",
    # number words used as ordinary words
    "one of the best", "Two agents helped", "ten minutes on hold", "一般", "一直很好",
    "三思而后行", "十分满意", "یک مشکل داشتم", "دو بار زنگ زدم",
    # Persian نه is also "no"
    "نه", "نه، خوب نبود",
    # too many digits to be a score (and to be safely converted)
    "1234567", "9" * 5000,
    # digits glued to letters
    "9great",
])
def test_comment_only(text: str) -> None:
    assert parse_reply(text, *NPS) == comment_only(text)


def test_comment_only_keeps_original_text_trimmed() -> None:
    assert parse_reply("  great service!  ", *NPS) == comment_only("great service!")


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_empty(text: str | None) -> None:
    assert parse_reply(text, *NPS).kind == "empty"  # type: ignore[arg-type]


def test_bad_scale() -> None:
    with pytest.raises(ValueError):
        parse_reply("5", 10, 0)
