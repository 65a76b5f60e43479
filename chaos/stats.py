"""Small exact statistics for comparing runs (pure, no dependencies; unit-tested against values
computed by hand).

With few runs per group, exact tests are the honest ones: with 3 runs a side no two-sided
Mann–Whitney test can reach p < 0.05 (the smallest p is 0.10); with 4 a side it can (0.029)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if not n:
        raise ValueError("median of nothing")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def median_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free interval for the median from order statistics (binomial, p = ½),
    covering at least ``level``; None below 6 values (no such interval exists)."""
    s = sorted(values)
    n = len(s)
    if n < 6:
        return None
    alpha = 1 - level
    k = 0  # the largest k with P(Bin(n, ½) ≤ k − 1) ≤ α/2; the interval is [x_(k), x_(n−k+1)]
    for j in range(1, n + 1):
        if _binom_cdf(j - 1, n, 0.5) <= alpha / 2:
            k = j
        else:
            break
    if k == 0:
        return None
    return s[k - 1], s[n - k]


def _binom_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, k + 1))


def _ranks(values: Sequence[float]) -> list[float]:
    """Midranks (ties share the mean of their ranks)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p of the Mann–Whitney U test: exact (every split of the pooled midranks, so
    ties are handled) up to 20 values in all, a normal approximation above."""
    n1, n2 = len(a), len(b)
    if not n1 or not n2:
        return 1.0
    ranks = _ranks(list(a) + list(b))
    observed = sum(ranks[:n1])
    expected = n1 * (n1 + n2 + 1) / 2
    distance = abs(observed - expected)
    if n1 + n2 <= 20:
        extreme = total = 0
        for combo in itertools.combinations(ranks, n1):
            total += 1
            if abs(sum(combo) - expected) >= distance - 1e-9:
                extreme += 1
        return extreme / total
    variance = n1 * n2 * (n1 + n2 + 1) / 12
    z = (distance - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(max(z, 0) / math.sqrt(2)))


def fisher_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p of Fisher's exact test on k1 of n1 against k2 of n2."""
    total, events = n1 + n2, k1 + k2

    def prob(x: int) -> float:
        return math.comb(n1, x) * math.comb(n2, events - x) / math.comb(total, events)

    observed = prob(k1)
    lo, hi = max(0, events - n2), min(n1, events)
    return min(1.0, sum(p for x in range(lo, hi + 1) if (p := prob(x)) <= observed * (1 + 1e-9)))


def failure_rate_upper(k: int, n: int, level: float = 0.95) -> float:
    """One-sided upper bound of a failure rate after k failures in n runs (Clopper–Pearson):
    0 of 10 → 0.259."""
    if n == 0:
        return 1.0
    if k >= n:
        return 1.0
    lo, hi = k / n, 1.0
    for _ in range(60):  # P(X ≤ k | p) falls as p grows: find where it is 1 − level
        mid = (lo + hi) / 2
        if _binom_cdf(k, n, mid) > 1 - level:
            lo = mid
        else:
            hi = mid
    return hi
