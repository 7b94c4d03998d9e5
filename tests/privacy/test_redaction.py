"""PII redaction of comments: real-looking samples in English, Chinese and Persian, digits of
other scripts, and the things that must survive (order numbers, prices, dates, short numbers)."""

from __future__ import annotations

import pytest

from surveys.errors import ValidationFailed
from surveys.redaction import Redactor, iban_ok, luhn_ok, redact, shadow
from surveys.service import clean_comment

TENANT = Redactor(regions=("GB", "US", "CN", "IR"))


@pytest.mark.parametrize(("text", "expected"), [
    # English
    ("Call me back on 07911 123456 please", "Call me back on [phone] please"),
    ("My number is (415) 555-2671, ask for Ana", "My number is [phone], ask for Ana"),
    ("Reach me at +44 7911 123456 or ana.lopez@example.co.uk!",
     "Reach me at [phone] or [email]!"),
    ("You charged card 4111 1111 1111 1111 twice", "You charged card [card] twice"),
    ("card 5500-0000-0000-0004 again", "card [card] again"),
    ("Refund to GB82 WEST 1234 5698 7654 32 thanks", "Refund to [iban] thanks"),
    ("IBAN DE89370400440532013000.", "IBAN [iban]."),
    # Chinese (no spaces around the numbers, full-width punctuation and digits)
    ("我的电话是13812345678，请回电", "我的电话是[phone]，请回电"),
    ("邮箱：wang.fang@example.cn，谢谢", "邮箱：[email]，谢谢"),
    ("请打１３８１２３４５６７８联系我", "请打[phone]联系我"),
    ("卡号6250946000000016被扣了两次", "卡号[card]被扣了两次"),  # a UnionPay test number
    # Persian (Persian digits, Arabic-Indic digits)
    ("شماره من ۰۹۱۲ ۳۴۵ ۶۷۸۹ است", "شماره من [phone] است"),
    ("با ٠٩١٢٣٤٥٦٧٨٩ تماس بگیرید", "با [phone] تماس بگیرید"),
    ("ایمیل من reza.ahmadi@example.ir است", "ایمیل من [email] است"),
    ("شماره کارت ۴۱۱۱ ۱۱۱۱ ۱۱۱۱ ۱۱۱۱ را شارژ کردید", "شماره کارت [card] را شارژ کردید"),
])
def test_personal_data_is_replaced_by_typed_placeholders(text: str, expected: str) -> None:
    assert redact(text, TENANT) == expected


@pytest.mark.parametrize("text", [
    "Order #10023481 arrived late",
    "order no. 2026-118734, ticket 55812, room 404",
    "It cost $1,299.99 and then €49.50 more",
    "价格是¥3,500元，订单号20261130",
    "قیمت ۱۲۵,۰۰۰ تومان بود، سفارش ۴۵۶۷۸",
    "Delivered 2026-11-30, promised 30/11/2026 at 14:30",
    "I waited 45 minutes, 3 times, rated 10/10",
    "Version 4.2.1 of the app, build 20261130",
    "4111 1111 1111 1112 is not a valid card",
    "Account 12345678 sort code 12-34-56",
])
def test_ordinary_numbers_survive(text: str) -> None:
    assert redact(text, TENANT) == text


def test_international_numbers_are_found_without_regions() -> None:
    assert redact("call +98 912 345 6789", Redactor()) == "call [phone]"
    assert redact("call 0912 345 6789", Redactor()) == "call 0912 345 6789"  # region unknown


def test_extra_patterns_from_settings() -> None:
    r = Redactor(patterns=(("member_id", r"\bMB-\d{6}\b"),))
    assert redact("member MB-123456 here", r) == "member [member_id] here"
    with pytest.raises(ValueError, match="not a valid regex"):
        Redactor(patterns=(("bad", "("),))
    with pytest.raises(ValueError, match="lower-case"):
        Redactor(patterns=(("Bad Name", "x"),))


def test_text_outside_the_matches_is_left_exactly_as_written() -> None:
    # The shadow folds digits only for matching; a Persian order number stays Persian.
    text = "سفارش ۴۵۶۷۸ — تلفن ۰۹۱۲۳۴۵۶۷۸۹"
    assert redact(text, TENANT) == "سفارش ۴۵۶۷۸ — تلفن [phone]"
    assert len(shadow("۰１a")) == 3 and shadow("۰１a") == "01a"


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")


def test_clean_comment_redacts_before_anything_is_stored() -> None:
    assert clean_comment("  mail me: bo@example.com\x00 ", redactor=TENANT) == "mail me: [email]"
    assert clean_comment("   ") is None
    with pytest.raises(ValidationFailed, match="longer"):
        clean_comment("x" * 4001)
