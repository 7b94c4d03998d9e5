"""Statistics helpers against published figures and independent scipy/numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from surveys.stats import (
    mean_variance,
    normal_two_sided_p,
    percentile,
    t_quantile,
    two_proportion_z_test,
    welch_t_test,
    wilson_interval,
)


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I,
# method 3 (Wilson score without continuity correction).
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe(k: int, n: int, low: float, high: float) -> None:
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_extremes_are_exact_and_never_degenerate() -> None:
    assert wilson_interval(5, 5) == (pytest.approx(0.5655, abs=1e-4), 1.0)
    lo, hi = wilson_interval(0, 1)
    assert lo == 0.0 and 0.79 < hi < 0.80


def test_wilson_rejects_bad_counts() -> None:
    for k, n in [(0, 0), (3, 2), (-1, 5)]:
        with pytest.raises(ValueError):
            wilson_interval(k, n)


def test_two_proportion_z_test_known_example() -> None:
    # 45/100 vs 56/100: pooled p = 101/200 = 0.505,
    # se = sqrt(0.505 * 0.495 * (1/100 + 1/100)) = 0.0707071,
    # z = (0.45 - 0.56) / 0.0707071 = -1.5557, two-sided p = 0.1198.
    z, p = two_proportion_z_test(45, 100, 56, 100)
    assert z == pytest.approx(-1.5557, abs=1e-4)
    assert p == pytest.approx(0.1198, abs=1e-4)
    # Independent check: the pooled z-test is the uncorrected chi-square test, chi2 = z².
    chi2, p_chi, _, _ = sps.chi2_contingency([[45, 55], [56, 44]], correction=False)
    assert z * z == pytest.approx(chi2)
    assert p == pytest.approx(p_chi)


def test_two_proportion_z_test_identical_all_or_nothing() -> None:
    assert two_proportion_z_test(10, 10, 4, 4) == (0.0, 1.0)
    assert two_proportion_z_test(0, 10, 0, 4) == (0.0, 1.0)
    with pytest.raises(ValueError):
        two_proportion_z_test(0, 0, 1, 2)


def test_normal_p() -> None:
    assert normal_two_sided_p(1.96) == pytest.approx(0.05, abs=1e-4)
    assert normal_two_sided_p(0.0) == 1.0


def test_mean_variance_from_sufficient_statistics() -> None:
    scores = [1, 3, 5, 7, 7]
    mv = mean_variance(len(scores), sum(scores), sum(s * s for s in scores))
    assert mv.mean == pytest.approx(np.mean(scores))
    assert mv.variance == pytest.approx(np.var(scores, ddof=1))
    assert mean_variance(1, 4, 16).variance is None
    assert mean_variance(3, 15, 75).variance == 0.0
    with pytest.raises(ValueError):
        mean_variance(3, 15, 10)  # impossible: sum of squares below sum²/n
    with pytest.raises(ValueError):
        mean_variance(0, 0, 0)


def test_welch_matches_scipy() -> None:
    a, b = [5, 6, 7, 7, 4, 6], [3, 4, 5, 2, 6, 4, 3, 5]
    t, df, p = welch_t_test(
        len(a), sum(a), sum(x * x for x in a), len(b), sum(b), sum(x * x for x in b)
    )
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert t == pytest.approx(ref.statistic)
    assert p == pytest.approx(ref.pvalue)
    assert df == pytest.approx(ref.df)


def test_welch_degenerate_and_too_small() -> None:
    assert welch_t_test(3, 15, 75, 3, 15, 75)[2] == 1.0
    t, _, p = welch_t_test(3, 18, 108, 3, 15, 75)
    assert math.isinf(t) and t > 0 and p == 0.0
    with pytest.raises(ValueError):
        welch_t_test(1, 5, 25, 3, 15, 77)


def test_t_quantile() -> None:
    assert t_quantile(0.975, 4) == pytest.approx(2.7764, abs=1e-4)


def test_percentile_matches_numpy_default() -> None:
    values = sorted([12.0, 3.5, 8.0, 40.0, 1.0, 19.0, 7.0])
    for q in (0, 10, 25, 50, 90, 100):
        assert percentile(values, q) == pytest.approx(np.percentile(values, q))
    assert percentile([4.0], 90) == 4.0
    assert percentile([], 50) is None


def test_percentile_rejects_unsorted_and_bad_q() -> None:
    with pytest.raises(ValueError):
        percentile([3, 1, 2], 50)
    with pytest.raises(ValueError):
        percentile([1, 2], 0.9 * 1000)
