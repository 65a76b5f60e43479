"""The comparison statistics against values computed by hand."""

import pytest

from chaos.stats import failure_rate_upper, fisher_p, mann_whitney_p, median, median_interval


def test_median():
    assert median([3, 1, 2]) == 2 and median([4, 1, 2, 3]) == 2.5


def test_mann_whitney_smallest_p_with_three_and_four_a_side():
    # complete separation: 2 of C(6,3)=20 splits are as extreme → 0.10; with 4 a side 2/70 = 0.0286
    assert mann_whitney_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    assert mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(2 / 70)


def test_mann_whitney_no_difference_and_ties():
    assert mann_whitney_p([1, 2, 3], [1, 2, 3]) == 1.0
    # a = [1, 1], b = [1, 2]: midranks 2, 2 | 2, 4; every split is 1 away from the mean 5 → p = 1
    assert mann_whitney_p([1, 1], [1, 2]) == 1.0
    # a = [1, 1, 1], b = [2, 3, 3]: midranks 2, 2, 2 | 4, 5.5, 5.5; only {2,2,2} and {4,5.5,5.5} of
    # C(6,3) = 20 splits are 4.5 from the mean 10.5 → p = 0.1
    assert mann_whitney_p([1, 1, 1], [2, 3, 3]) == pytest.approx(0.1)


def test_mann_whitney_normal_approximation_for_large_groups():
    a, b = list(range(15)), list(range(100, 115))
    assert mann_whitney_p(a, b) < 1e-5


def test_fisher_exact():
    # 0 of 5 failed against 5 of 5: only the two extreme tables, each 1/252
    assert fisher_p(0, 5, 5, 5) == pytest.approx(2 / 252)
    assert fisher_p(1, 4, 1, 4) == pytest.approx(1.0)
    # 3 of 3 against 0 of 3: 1/20 each side → 0.1
    assert fisher_p(3, 3, 0, 3) == pytest.approx(0.1)


def test_failure_rate_upper_bound():
    assert failure_rate_upper(0, 10) == pytest.approx(1 - 0.05 ** (1 / 10), abs=1e-6)  # 0.2589
    assert 0.25 < failure_rate_upper(0, 10) < 0.26
    assert failure_rate_upper(1, 10) == pytest.approx(0.3942, abs=1e-3)
    assert failure_rate_upper(3, 3) == 1.0


def test_median_interval_needs_six_values():
    assert median_interval([1, 2, 3, 4, 5]) is None
    # n = 6: P(Bin(6, ½) ≤ 0) = 1/64 ≤ 0.025 → [x(1), x(6)]
    assert median_interval([5, 1, 4, 2, 6, 3]) == (1, 6)
    # n = 10: P(X ≤ 1) = 11/1024 ≤ 0.025 < P(X ≤ 2) = 56/1024 → [x(2), x(9)]
    assert median_interval(list(range(1, 11))) == (2, 9)
