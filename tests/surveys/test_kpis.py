"""KPI formulas against figures computed by hand (the working is in the comments)."""

from __future__ import annotations

import pytest
from scipy import stats as sps

from surveys.kpis import (
    Change,
    Estimate,
    MeanStats,
    NpsCounts,
    ces,
    ces_easy,
    compare_mean,
    compare_nps,
    compare_proportion,
    csat,
    nps,
    response_rate,
)

approx = pytest.approx


# --- NPS ---------------------------------------------------------------------------------------


def test_nps_wald_by_hand() -> None:
    # 50 promoters, 30 passives, 20 detractors, n = 100:
    # NPS = 50 % - 20 % = 30.
    # var = p_p + p_d - (p_p - p_d)² = 0.5 + 0.2 - 0.3² = 0.61
    # se = sqrt(0.61 / 100) = 0.0781025;  MoE = 1.96 * 0.0781025 * 100 = 15.308 points.
    e = nps(50, 30, 20, method="wald")
    assert e.value == approx(30.0)
    assert e.moe == approx(15.308, abs=1e-3)
    assert (e.low, e.high) == (approx(14.692, abs=1e-3), approx(45.308, abs=1e-3))
    assert e.n == 100


def test_nps_adjusted_wald_by_hand() -> None:
    # Adjusted Wald: add 3/4 to promoters and detractors, 3 to n.
    # n' = 103, p_p' = 50.75/103 = 0.492718, p_d' = 20.75/103 = 0.201456, centre = 0.291262
    # var = 0.492718 + 0.201456 - 0.291262² = 0.609341
    # se = sqrt(0.609341 / 103) = 0.0769151;  MoE = 1.96 * 0.0769151 * 100 = 15.075
    # bounds = 29.126 -/+ 15.075 -> 14.051 .. 44.202.  The headline value stays 30.
    e = nps(50, 30, 20)
    assert e.value == approx(30.0)
    assert e.moe == approx(15.075, abs=1e-3)
    assert (e.low, e.high) == (approx(14.051, abs=1e-3), approx(44.202, abs=1e-3))


def test_nps_negative() -> None:
    e = nps(10, 10, 50)
    assert e.value == approx(-100 * 40 / 70)
    assert e.low is not None and e.high is not None
    assert -100.0 <= e.low < e.value < e.high


def test_nps_empty() -> None:
    e = nps(0, 0, 0)
    assert e == Estimate(None, None, None, None, 0)
    assert e.to_dict() == {"value": None, "moe": None, "low": None, "high": None, "n": 0}


def test_nps_one_response() -> None:
    # One promoter. Wald: var = 1 + 0 - 1 = 0 -> a zero-width interval, i.e. false certainty.
    wald = nps(1, 0, 0, method="wald")
    assert (wald.value, wald.moe, wald.low, wald.high) == (100.0, 0.0, 100.0, 100.0)
    # Adjusted: n' = 4, p_p' = 1.75/4 = 0.4375, p_d' = 0.1875, centre 0.25,
    # var = 0.625 - 0.0625 = 0.5625, se = sqrt(0.5625/4) = 0.375, MoE = 73.5,
    # bounds 25 -/+ 73.5 = -48.5 .. 98.5; high is raised to 100 so it never excludes the value.
    adj = nps(1, 0, 0)
    assert adj.value == 100.0 and adj.moe == approx(73.5)
    assert (adj.low, adj.high) == (approx(-48.5), 100.0)


def test_nps_all_promoters_gets_a_real_interval() -> None:
    assert nps(10, 0, 0, method="wald").moe == 0.0
    e = nps(10, 0, 0)
    assert e.value == 100.0 and e.high == 100.0
    assert e.moe is not None and e.moe > 20  # 10 answers are not proof of a perfect score
    assert e.low is not None and e.low < 60


def test_nps_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        nps(-1, 0, 3)
    with pytest.raises(ValueError):
        nps(1, 2, 3, method="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        nps(0, 0, 0, method="exact")  # type: ignore[arg-type]


# --- proportions -------------------------------------------------------------------------------


def test_csat_wilson() -> None:
    # 81 of 263: Newcombe (1998) gives the Wilson interval 0.2553 .. 0.3662.
    e = csat(81, 263)
    assert e.value == approx(100 * 81 / 263)
    assert (e.low, e.high) == (approx(25.53, abs=5e-3), approx(36.62, abs=5e-3))
    assert e.moe == approx((e.high - e.low) / 2)


def test_csat_one_response_and_empty() -> None:
    # 1/1: Wilson = (1 + 1.96²/2 -/+ 1.96²/2) / (1 + 1.96²) -> 0.2065 .. 1.
    e = csat(1, 1)
    assert e.value == 100.0 and e.high == 100.0
    assert e.low == approx(20.65, abs=0.01)
    assert csat(0, 0).value is None


def test_other_proportions_and_validation() -> None:
    assert ces_easy(3, 4).value == approx(75.0)
    assert response_rate(25, 200).value == approx(12.5)
    assert response_rate(0, 0).n == 0
    with pytest.raises(ValueError):
        csat(5, 4)
    with pytest.raises(ValueError):
        response_rate(-1, 4)


# --- CES ---------------------------------------------------------------------------------------


def test_ces_mean_t_interval() -> None:
    # Scores 5, 5, 6, 4, 5: n = 5, sum = 25, sum of squares = 127.
    # mean = 5; s² = (127 - 25²/5) / 4 = 0.5; se = sqrt(0.5 / 5) = 0.316228
    # t(0.975, df 4) = 2.776445 -> MoE = 0.877989.
    e = ces(5, 25, 127)
    assert e.value == approx(5.0)
    assert e.moe == approx(0.877989, abs=1e-6)
    assert (e.low, e.high) == (approx(4.122011, abs=1e-6), approx(5.877989, abs=1e-6))


def test_ces_edge_cases() -> None:
    assert ces(0, 0, 0).value is None
    one = ces(1, 6, 36)
    assert (one.value, one.moe, one.low, one.high, one.n) == (6.0, None, None, None, 1)
    same = ces(4, 28, 196)  # four 7s: no spread, zero-width interval (documented choice)
    assert (same.value, same.moe, same.low, same.high) == (7.0, 0.0, 7.0, 7.0)
    wide = ces(2, 8, 50)  # 1 and 7: the t interval runs far past the scale and is clipped
    assert (wide.low, wide.high) == (1.0, 7.0)
    assert ces(2, 8, 50, scale=None).low is not None
    assert ces(2, 8, 50, scale=None).low < 0  # type: ignore[operator]


# --- change vs previous period -----------------------------------------------------------------


def test_compare_proportion() -> None:
    # 45/100 -> 56/100: z = -1.5557, p = 0.1198 (see test_stats) -> not significant.
    c = compare_proportion((56, 100), (45, 100))
    assert c.delta == approx(11.0)
    assert c.p_value == approx(0.1198, abs=1e-4)
    assert c.significant is False
    # 60/100 vs 40/100: pooled 0.5, se = sqrt(0.25 * 0.02) = 0.070711, z = 2.828, p = 0.00468.
    c = compare_proportion((60, 100), (40, 100))
    assert c.p_value == approx(0.00468, abs=1e-5) and c.significant is True
    assert compare_proportion((1, 2), (0, 0)) == Change(None, None, False)


def test_compare_nps_wald_by_hand() -> None:
    # Current 50/30/20 (NPS 30, var 0.61); previous 30/30/40 (NPS -10, var 0.3 + 0.4 - 0.01 = 0.69).
    # delta = 40; se = sqrt(0.61/100 + 0.69/100) = 0.114018; z = 0.40 / 0.114018 = 3.508;
    # p = 0.000451 -> significant.
    c = compare_nps(NpsCounts(50, 30, 20), NpsCounts(30, 30, 40), method="wald")
    assert c.delta == approx(40.0)
    assert c.p_value == approx(0.000451, abs=2e-6)
    assert c.significant is True
    assert c.to_dict()["significant"] is True


def test_compare_nps_default_is_slightly_conservative() -> None:
    adj = compare_nps((50, 30, 20), (30, 30, 40))
    wald = compare_nps((50, 30, 20), (30, 30, 40), method="wald")
    assert adj.delta == wald.delta
    assert adj.p_value is not None and wald.p_value is not None
    assert adj.p_value > wald.p_value and adj.significant


def test_compare_nps_edge_cases() -> None:
    assert compare_nps((0, 0, 0), (1, 0, 0)) == Change(None, None, False)
    # Wald with every answer in one category on both sides: no variance, no test.
    assert compare_nps((3, 0, 0), (0, 0, 3), method="wald") == Change(200.0, None, False)
    assert compare_nps((3, 0, 0), (2, 0, 0), method="wald") == Change(0.0, 1.0, False)
    # The adjusted variance never vanishes, so the same data gets a real (small-n) test.
    c = compare_nps((3, 0, 0), (0, 0, 3))
    assert c.delta == 200.0 and c.p_value is not None


def test_compare_mean_matches_scipy_welch() -> None:
    cur, prev = [5, 6, 7, 7, 4, 6], [3, 4, 5, 2, 6, 4, 3, 5]
    c = compare_mean(MeanStats.from_scores(cur), MeanStats.from_scores(prev))
    ref = sps.ttest_ind(cur, prev, equal_var=False)
    assert c.delta == approx(sum(cur) / 6 - sum(prev) / 8)
    assert c.p_value == approx(ref.pvalue)
    assert ref.pvalue < 0.05 and c.significant is True


def test_compare_mean_edge_cases() -> None:
    assert compare_mean((0, 0, 0), (3, 15, 75)) == Change(None, None, False)
    assert compare_mean((1, 6, 36), (3, 15, 75)) == Change(1.0, None, False)
    # No spread on either side: a difference is untestable, equality is p = 1.
    assert compare_mean((3, 18, 108), (3, 15, 75)) == Change(1.0, None, False)
    assert compare_mean((3, 15, 75), (2, 10, 50)) == Change(0.0, 1.0, False)
