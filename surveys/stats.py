"""Small, dependency-light statistics used by the KPI layer.

Everything works from sufficient statistics (counts, sums, sums of squares) because reports
aggregate in SQL and must never pull individual responses into Python just to get an interval.
The normal distribution comes from `math.erfc`; scipy is imported lazily and only for the
Student t distribution, so importing this module stays cheap for the web process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95 % normal quantile, rounded as in every textbook and spreadsheet so that a CX lead
# re-checking a margin of error by hand gets the same figure (the exact 1.95996 differs at 1e-3).
Z95 = 1.96


def _check_counts(k: int, n: int) -> None:
    if n < 0 or k < 0:
        raise ValueError(f"counts must be non-negative (got k={k}, n={n})")
    if k > n:
        raise ValueError(f"successes ({k}) cannot exceed trials ({n})")


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    if math.isnan(z):
        raise ValueError("z is NaN")
    return math.erfc(abs(z) / math.sqrt(2.0))


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials, as proportions in [0, 1].

    Chosen over the Wald interval because survey slices are often small and lopsided
    (5/5 satisfied): Wald collapses to a zero-width interval there, Wilson does not.
    """
    _check_counts(k, n)
    if n == 0:
        raise ValueError("no trials: the interval is undefined")
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denom
    # Exact 0 and 1 at the extremes instead of 1e-17 rounding noise.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def two_proportion_z_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of p1 == p2; returns (z, two-sided p).

    z is positive when the first proportion is the larger. When the pooled proportion is 0 or 1
    both samples are identical (all or none), so there is no evidence of change: (0.0, 1.0).
    """
    _check_counts(k1, n1)
    _check_counts(k2, n2)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one trial")
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:
        return 0.0, 1.0
    z = (k1 / n1 - k2 / n2) / se
    return z, normal_two_sided_p(z)


@dataclass(frozen=True)
class MeanVar:
    n: int
    mean: float
    variance: float | None  # sample variance (n - 1 denominator); None when n < 2


def mean_variance(n: int, total: float, sum_squares: float) -> MeanVar:
    """Mean and sample variance from (n, sum x, sum x²) as SQL returns them."""
    if n <= 0:
        raise ValueError("need at least one observation")
    mean = total / n
    if n < 2:
        return MeanVar(n, mean, None)
    # The textbook shortcut loses precision when the mean is large relative to the spread; on
    # 1-7 scales that cannot matter, but it can go slightly negative, so clamp at zero.
    var = (sum_squares - total * total / n) / (n - 1)
    if var < -1e-9 * max(1.0, abs(sum_squares)):
        raise ValueError("sum of squares is inconsistent with the sum (negative variance)")
    return MeanVar(n, mean, max(0.0, var))


def t_quantile(prob: float, df: float) -> float:
    """Quantile of Student's t with df degrees of freedom."""
    # scipy.special.stdtrit is the same function without scipy.stats' per-call argument
    # machinery: ~1000x faster, which matters when a report computes hundreds of intervals.
    from scipy.special import stdtrit

    return float(stdtrit(df, prob))


def welch_t_test(
    n1: int, sum1: float, sumsq1: float, n2: int, sum2: float, sumsq2: float
) -> tuple[float, float, float]:
    """Welch's unequal-variance t-test from sufficient statistics.

    Returns (t, df, two-sided p); t is positive when sample 1 has the larger mean. Each sample
    needs n >= 2. When both variances are zero the statistic is degenerate: returns
    (0, nan, 1.0) for equal means and (±inf, nan, 0.0) otherwise -- callers that want to treat
    that as "untestable" should check `math.isinf(t)`.
    """
    a = mean_variance(n1, sum1, sumsq1)
    b = mean_variance(n2, sum2, sumsq2)
    if a.variance is None or b.variance is None:
        raise ValueError("each sample needs at least two observations for a t-test")
    va, vb = a.variance / n1, b.variance / n2
    se2 = va + vb
    diff = a.mean - b.mean
    if se2 == 0.0:
        if diff == 0.0:
            return 0.0, math.nan, 1.0
        return math.copysign(math.inf, diff), math.nan, 0.0
    t = diff / math.sqrt(se2)
    df = se2 * se2 / (va * va / (n1 - 1) + vb * vb / (n2 - 1))
    from scipy.special import stdtr  # lazy: keeps `import surveys.stats` cheap

    p = float(2.0 * stdtr(df, -abs(t)))
    return t, df, min(1.0, p)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) of already sorted values, or None when there are none.

    Linear interpolation between closest ranks, i.e. numpy's default ("type 7"), so figures
    match what analysts get from a spreadsheet's PERCENTILE.INC or pandas.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be within 0..100 (got {q})")
    n = len(sorted_values)
    if n == 0:
        return None
    # Unsorted input would silently give a wrong median; the check is O(n) next to an O(n log n)
    # sort the caller already paid for.
    if any(sorted_values[i] > sorted_values[i + 1] for i in range(n - 1)):
        raise ValueError("values must be sorted ascending")
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac)
