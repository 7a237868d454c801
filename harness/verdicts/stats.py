"""The little statistics the verdicts need, written out so the harness pulls in no numpy.

Every function takes plain sequences of floats and is exact for the small samples a run
produces (a handful of retries, a few hundred calibration sleeps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations, permutations


def median(values: Sequence[float]) -> float:
    """The middle value (mean of the two middle ones for an even count)."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    low, high = ordered[mid - 1], ordered[mid]
    if math.isinf(low) and math.isinf(high) and low != high:
        return 0.0
    return (low + high) / 2


def quantile(values: Sequence[float], p: float) -> float:
    """The ``p``-quantile (0..1) with linear interpolation between order statistics."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Slope and intercept of the Theil-Sen line: the median of pairwise slopes, robust
    to a minority of outliers (one stalled retry does not bend it)."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("theil_sen needs at least two (x, y) points")
    slopes = [(ys[j] - ys[i]) / (xs[j] - xs[i])
              for i, j in combinations(range(len(xs)), 2) if xs[j] != xs[i]]
    slope = median(slopes) if slopes else 0.0  # every x the same: no evidence of a trend
    intercept = median([y - slope * x for x, y in zip(xs, ys)])
    return slope, intercept


def kendall_tau(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Kendall's tau-a: (concordant - discordant) pairs over all pairs."""
    n = len(xs)
    if n < 2:
        return 0.0
    score = 0
    for i, j in combinations(range(n), 2):
        score += _sign((xs[j] - xs[i]) * (ys[j] - ys[i]))
    return score / (n * (n - 1) / 2)


def kendall_p_increasing(ys: Sequence[float]) -> float:
    """One-sided p-value that ``ys`` trend upward with their index, under no trend.

    Exact by enumerating orderings up to 8 points, normal approximation beyond.
    """
    n = len(ys)
    if n < 2:
        return 1.0
    xs = list(range(n))
    observed = kendall_tau(xs, ys)
    if n <= 8:
        ranks = _ranks(ys)
        at_least = total = 0
        for order in permutations(range(n)):
            total += 1
            if kendall_tau(xs, [ranks[k] for k in order]) >= observed - 1e-12:
                at_least += 1
        return at_least / total
    sd = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    return 0.5 * math.erfc(observed / sd / math.sqrt(2))


def ols(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and sum of squared residuals."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = 0.0 if sxx == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    intercept = my - slope * mx
    sse = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys))
    return slope, intercept, sse


def prob_product_of_uniforms_at_most(t: float, k: int) -> float:
    """P(U1·…·Uk <= t) for k independent U(0, 1): the Gamma(k, 1) tail of -log t.

    This is how unlikely it is that a full-jitter client drew every one of its k delays
    as short as observed (each observation scaled to its envelope).
    """
    if t >= 1.0:
        return 1.0
    if t <= 0.0:
        return 0.0
    x = -math.log(t)
    term, total = 1.0, 1.0
    for j in range(1, k):
        term *= x / j
        total += term
    return min(1.0, math.exp(-x) * total)


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _ranks(values: Sequence[float]) -> list[float]:
    ordered = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    for rank, i in enumerate(ordered):
        ranks[i] = float(rank)
    return ranks
