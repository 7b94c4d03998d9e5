"""Accept-Language is read by its q-weights (RFC 9110), not by the order of its entries."""

from __future__ import annotations

import pytest

from feedback.i18n import accepted_languages, resolve


@pytest.mark.parametrize(("header", "expected"), [
    ("en;q=0.1, fa;q=0.9", "fa"),
    ("zh-CN,en;q=0.5", "zh-CN"),
    ("de, fa;q=0.5, en;q=0.4", "fa"),  # no German catalogue: the next most wanted
    ("fa;q=0, en", "en"),  # q=0: not this one
    ("xx;q=abc, zh;q=0.2", "zh-CN"),
    ("", "en"),
])
def test_the_most_wanted_language_we_have_wins(header: str, expected: str) -> None:
    assert resolve(None, header) == expected


def test_ties_keep_the_order_given() -> None:
    assert accepted_languages("fa, en;q=1.0, zh-CN;q=0.8") == ["fa", "en", "zh-CN"]
