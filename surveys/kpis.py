"""KPI estimates with 95 % intervals, and significance of change between two periods.

Every function takes plain aggregated numbers (counts, sums, sums of squares) so the report
queries can GROUP BY in SQL and hand over one row per bucket. Nothing here knows about the
database, the web layer or score thresholds: classification happens upstream (surveys.scoring).

Conventions
- `value` is always the plain, unadjusted figure a CX lead would compute in a spreadsheet.
  Small-sample corrections affect only the interval, never the headline number.
- `moe` is the 95 % half-width and `low`/`high` the actual bounds. Wilson and adjusted-Wald
  intervals are not centred on `value`, so always draw `low..high`, not `value ± moe`.
- n == 0 gives an Estimate whose value is None; callers render "no data" rather than 0.
- Malformed input (negative counts, more satisfied than responses) raises ValueError: that is a
  query bug, and a silently clamped KPI would be worse than a loud failure.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

from surveys.stats import (
    Z95,
    mean_variance,
    normal_two_sided_p,
    t_quantile,
    two_proportion_z_test,
    welch_t_test,
    wilson_interval,
)

NpsMethod = Literal["adjusted-wald", "wald"]
ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    value: float | None
    moe: float | None
    low: float | None
    high: float | None
    n: int

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


@dataclass(frozen=True)
class Change:
    """Current minus previous, in the KPI's own unit (NPS points, percentage points, score)."""

    delta: float | None
    p_value: float | None  # None when no test is possible (empty period, n < 2, zero spread)
    significant: bool

    def to_dict(self) -> dict[str, float | bool | None]:
        return asdict(self)


class NpsCounts(NamedTuple):
    promoters: int
    passives: int
    detractors: int

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors


class Proportion(NamedTuple):
    successes: int
    total: int


class MeanStats(NamedTuple):
    """Sufficient statistics of a score: SELECT count(*), sum(score), sum(score * score)."""

    n: int
    sum_scores: float
    sum_squares: float

    @classmethod
    def from_scores(cls, scores: list[int] | list[float]) -> MeanStats:
        return cls(len(scores), float(sum(scores)), float(sum(s * s for s in scores)))


def _empty() -> Estimate:
    return Estimate(None, None, None, None, 0)


# --- proportions -------------------------------------------------------------------------------


def proportion(successes: int, total: int) -> Estimate:
    """Percent of `total` that are `successes`, with a Wilson score interval."""
    if total < 0 or successes < 0 or successes > total:
        raise ValueError(f"need 0 <= successes <= total (got {successes}/{total})")
    if total == 0:
        return _empty()
    low, high = wilson_interval(successes, total)
    return Estimate(
        value=100.0 * successes / total,
        moe=100.0 * (high - low) / 2.0,
        low=100.0 * low,
        high=100.0 * high,
        n=total,
    )


def csat(satisfied: int, total: int) -> Estimate:
    """CSAT %: satisfied responses (4-5 by default) over all CSAT responses."""
    return proportion(satisfied, total)


def ces_easy(easy: int, total: int) -> Estimate:
    """Percent of CES responses in the "easy" band."""
    return proportion(easy, total)


def response_rate(responses: int, delivered_or_sent: int) -> Estimate:
    """Responses over surveys delivered (or sent, where the channel reports no delivery)."""
    return proportion(responses, delivered_or_sent)


# --- NPS ---------------------------------------------------------------------------------------


def _nps_parts(c: NpsCounts, method: NpsMethod) -> tuple[float, float, float]:
    """(net proportion, multinomial variance, effective n) for the chosen interval method.

    "adjusted-wald" (Rocks 2016, The American Statistician) adds 3/4 to promoters and
    detractors and 3 to n -- the NPS analogue of Agresti-Coull. It had the best coverage of the
    methods compared there, and it cannot collapse to a zero-width interval when every
    respondent falls in one category (10 promoters out of 10 is not certainty).
    """
    if method == "adjusted-wald":
        n = c.n + 3.0
        pp, pd = (c.promoters + 0.75) / n, (c.detractors + 0.75) / n
    elif method == "wald":
        n = float(c.n)
        pp, pd = c.promoters / n, c.detractors / n
    else:
        raise ValueError(f"unknown NPS interval method {method!r}")
    net = pp - pd
    # Var of a per-response score in {+1, 0, -1}: E[x²] - E[x]² = pp + pd - (pp - pd)².
    return net, max(0.0, pp + pd - net * net), n


def nps(
    promoters: int, passives: int, detractors: int, *, method: NpsMethod = "adjusted-wald"
) -> Estimate:
    """Net Promoter Score in points (-100..100): % promoters minus % detractors.

    The interval uses the multinomial variance; see `_nps_parts` for the default small-sample
    adjustment (pass method="wald" for the plain textbook interval).
    """
    c = NpsCounts(promoters, passives, detractors)
    if min(c) < 0:
        raise ValueError(f"counts must be non-negative (got {c})")
    if method not in ("adjusted-wald", "wald"):  # checked up front so a typo fails on n == 0 too
        raise ValueError(f"unknown NPS interval method {method!r}")
    if c.n == 0:
        return _empty()
    value = 100.0 * (c.promoters - c.detractors) / c.n
    centre, var, n_eff = _nps_parts(c, method)
    moe = 100.0 * Z95 * math.sqrt(var / n_eff)
    low = max(-100.0, 100.0 * centre - moe)
    high = min(100.0, 100.0 * centre + moe)
    # With n = 1 the adjusted centre is pulled so far towards 0 that the interval can exclude
    # the observed score (1 promoter: high 98.5 < value 100); never show that contradiction.
    return Estimate(value, moe, min(low, value), max(high, value), c.n)


# --- CES (mean effort score) -------------------------------------------------------------------


def ces(
    total: int,
    sum_scores: float,
    sum_squares: float,
    *,
    scale: tuple[float, float] | None = (1.0, 7.0),
) -> Estimate:
    """Mean CES score with a Student-t interval from the sample variance.

    `total` is the number of responses. With one response there is no variance: moe and bounds
    are None. Identical scores give a zero-width interval -- unlike NPS no correction is
    applied, because a mean has no natural pseudo-count and the tiles show n next to it anyway.
    Bounds are clipped to `scale` (pass None for an unbounded score).
    """
    if total < 0:
        raise ValueError("total must be non-negative")
    if total == 0:
        return _empty()
    mv = mean_variance(total, sum_scores, sum_squares)
    if mv.variance is None:
        return Estimate(mv.mean, None, None, None, total)
    moe = t_quantile(0.975, total - 1) * math.sqrt(mv.variance / total)
    low, high = mv.mean - moe, mv.mean + moe
    if scale is not None:
        low, high = max(scale[0], low), min(scale[1], high)
    return Estimate(mv.mean, moe, low, high, total)


# --- change vs the previous period -------------------------------------------------------------


def _change(delta: float, p: float | None, alpha: float) -> Change:
    return Change(delta, p, p is not None and p < alpha)


def compare_proportion(
    current: Proportion | tuple[int, int],
    previous: Proportion | tuple[int, int],
    *,
    alpha: float = ALPHA,
) -> Change:
    """Change in a percentage KPI (CSAT, CES easy, response rate): pooled two-proportion z-test.

    delta is in percentage points.
    """
    cur, prev = Proportion(*current), Proportion(*previous)
    if cur.total == 0 or prev.total == 0:
        return Change(None, None, False)
    delta = 100.0 * (cur.successes / cur.total - prev.successes / prev.total)
    _, p = two_proportion_z_test(cur.successes, cur.total, prev.successes, prev.total)
    return _change(delta, p, alpha)


def compare_nps(
    current: NpsCounts | tuple[int, int, int],
    previous: NpsCounts | tuple[int, int, int],
    *,
    alpha: float = ALPHA,
    method: NpsMethod = "adjusted-wald",
) -> Change:
    """Change in NPS points: z-test on the difference with both periods' variances (unpooled).

    delta is the plain difference of the two NPS values. The z statistic uses the same
    estimator as the interval (`method`), so a "significant" badge agrees with the error bars;
    with the default adjustment both sides are shrunk slightly towards 0, which is conservative.
    """
    cur, prev = NpsCounts(*current), NpsCounts(*previous)
    if min(cur) < 0 or min(prev) < 0:
        raise ValueError("counts must be non-negative")
    if cur.n == 0 or prev.n == 0:
        return Change(None, None, False)
    delta = 100.0 * (
        (cur.promoters - cur.detractors) / cur.n - (prev.promoters - prev.detractors) / prev.n
    )
    c1, v1, n1 = _nps_parts(cur, method)
    c2, v2, n2 = _nps_parts(prev, method)
    se = math.sqrt(v1 / n1 + v2 / n2)
    if se == 0.0:
        # Only reachable with method="wald" when each period is entirely one category.
        return _change(delta, 1.0 if delta == 0 else None, alpha)
    return _change(delta, normal_two_sided_p((c1 - c2) / se), alpha)


def compare_mean(
    current: MeanStats | tuple[int, float, float],
    previous: MeanStats | tuple[int, float, float],
    *,
    alpha: float = ALPHA,
) -> Change:
    """Change in a mean score (CES): Welch's t-test from (n, sum, sum of squares).

    Needs two responses per period for a p-value. When neither period has any spread the test
    is degenerate; a difference is then reported as untestable (p None) rather than p = 0,
    because "3 x score 5 vs 3 x score 6" is not proof of anything.
    """
    cur, prev = MeanStats(*current), MeanStats(*previous)
    if cur.n <= 0 or prev.n <= 0:
        return Change(None, None, False)
    delta = cur.sum_scores / cur.n - prev.sum_scores / prev.n
    if cur.n < 2 or prev.n < 2:
        return Change(delta, None, False)
    t, _, p = welch_t_test(*cur, *prev)
    if math.isinf(t):
        return Change(delta, None, False)
    return _change(delta, p, alpha)
