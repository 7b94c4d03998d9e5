"""Every operations formula against figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback.operations import formulas
from feedback.operations.formulas import Contact, QueueCounts, inferred_resolution


def test_answer_rate_and_abandonment_leave_short_abandons_out():
    # 20 offered: 3 abandoned within 5 s, 2 later, 15 handled.
    # abandonment = (20 - 3 - 15) / (20 - 3) = 2/17 = 11.76 %; answer rate = 15/17 = 88.24 %.
    ab = formulas.abandonment_rate(20, 3, 15)
    ans = formulas.answer_rate(20, 3, 15)
    assert ab.value == pytest.approx(100 * 2 / 17)
    assert ans.value == pytest.approx(100 * 15 / 17)
    assert ab.value + ans.value == pytest.approx(100.0)
    assert ab.n == ans.n == 17


def test_aht_is_talk_hold_wrap_over_handled():
    # Three handled contacts: (300+60+40), (200+0+100), (500+100+0) -> 400, 300, 600 s.
    values = [400, 300, 600]
    est = formulas.aht(3, sum(values), sum(v * v for v in values))
    assert est.value == pytest.approx(1300 / 3)
    assert est.low is not None and est.low >= 0  # a duration interval never goes below zero


def test_asa_is_total_wait_of_answered_over_answered():
    waits = [10, 20, 90]
    assert formulas.asa(3, sum(waits), sum(w * w for w in waits)).value == pytest.approx(40.0)
    assert formulas.asa(0, 0, 0).value is None


def test_fcr_and_first_response():
    assert formulas.fcr(7, 10).value == pytest.approx(70.0)
    assert formulas.first_response(2, 3600 + 1800, 3600**2 + 1800**2).value == pytest.approx(2700)


def test_inconsistent_counts_are_a_loud_error():
    with pytest.raises(ValueError):
        formulas.abandonment_rate(5, 3, 4)


def test_summary_of_counts():
    c = QueueCounts(contacts=12, offered=10, handled=7, abandoned=3, short_abandons=2,
                    wait_n=7, wait_sum=140, wait_sumsq=4000, handle_n=7, handle_sum=2100,
                    handle_sumsq=700000, transfers_n=7, transfers_sum=3, transferred=2,
                    resolved_n=7, resolved_yes=5, frt_n=0)
    s = formulas.summary(c)
    assert s["abandonment"]["value"] == pytest.approx(100 * 1 / 8)  # (10-2-7)/(10-2)
    assert s["answer_rate"]["value"] == pytest.approx(100 * 7 / 8)
    assert s["aht"]["value"] == pytest.approx(300.0)
    assert s["asa"]["value"] == pytest.approx(20.0)
    assert s["fcr_agent"]["value"] == pytest.approx(100 * 5 / 7)
    assert s["transfer_rate"]["value"] == pytest.approx(100 * 2 / 7)
    assert s["first_response"]["value"] is None


T0 = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)  # late evening; New York changes clocks on 8 March
WEEK = timedelta(days=7)


def _infer(*contacts: Contact, now: datetime = T0 + timedelta(days=30)) -> dict:
    return inferred_resolution(contacts, window=WEEK, now=now)


def test_repeat_after_midnight_is_a_repeat():
    out = _infer(Contact(1, "c", "billing", T0), Contact(2, "c", "billing", T0 + timedelta(hours=1)))
    assert out[1] is False and out[2] is True


def test_window_is_elapsed_time_across_dst():
    # 6 days 23.5 h later (across the 8 March DST change): inside the window.
    inside = _infer(Contact(1, "c", "billing", T0),
                    Contact(2, "c", "billing", T0 + WEEK - timedelta(minutes=30)))
    # 7 days and 30 minutes later: outside, although it is "the same wall-clock week" in NY.
    outside = _infer(Contact(1, "c", "billing", T0),
                     Contact(2, "c", "billing", T0 + WEEK + timedelta(minutes=30)))
    assert inside[1] is False
    assert outside[1] is True


def test_other_reason_or_customer_is_not_a_repeat_and_open_windows_are_unknown():
    out = _infer(Contact(1, "c", "billing", T0), Contact(2, "c", "delivery", T0 + timedelta(days=1)),
                 Contact(3, "d", "billing", T0 + timedelta(days=1)), Contact(4, "e", None, T0),
                 now=T0 + timedelta(days=7, minutes=1))
    assert out[1] is True  # its window closed a minute ago with no repeat
    assert out[2] is None and out[3] is None  # windows still open
    assert out[4] is None  # no reason: cannot be judged


def test_blocked_share_is_over_every_attempt_to_reach_the_queue():
    # 20 offered (15 handled, 3 short and 2 later abandons) and 5 turned away busy:
    # blocked share = 5 / (20 + 5) = 20 %; the rates over the offered stay as they were.
    assert formulas.blocked_share(20, 5).value == pytest.approx(20.0)
    assert formulas.blocked_share(20, 5).n == 25
    assert formulas.blocked_share(0, 0).value is None
    s = formulas.summary(QueueCounts(contacts=25, offered=20, handled=15, abandoned=5,
                                     short_abandons=3, blocked=5))
    assert s["blocked_share"]["value"] == pytest.approx(20.0)
    assert s["abandonment"]["value"] == pytest.approx(100 * 2 / 17)
    with pytest.raises(ValueError):
        formulas.blocked_share(-1, 2)
