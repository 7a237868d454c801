"""The small statistics, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from harness.verdicts.stats import (
    kendall_p_increasing,
    kendall_tau,
    median,
    ols,
    prob_product_of_uniforms_at_most,
    quantile,
    theil_sen,
)


def test_median_odd_even_and_empty() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError):
        median([])


def test_median_of_opposite_infinities_is_zero() -> None:
    assert median([-math.inf, math.inf]) == 0.0


def test_quantile_interpolates() -> None:
    values = [0.0, 10.0, 20.0, 30.0, 40.0]
    assert quantile(values, 0.0) == 0.0
    assert quantile(values, 1.0) == 40.0
    assert quantile(values, 0.5) == 20.0
    assert quantile(values, 0.125) == pytest.approx(5.0)


def test_theil_sen_recovers_a_line_and_ignores_one_outlier() -> None:
    xs = [1.0, 2.0, 3.0, 4.0, 5.0]
    ys = [2.0 * x + 1.0 for x in xs]
    assert theil_sen(xs, ys) == pytest.approx((2.0, 1.0))
    ys[1] = 100.0  # one stalled observation
    slope, _ = theil_sen(xs, ys)
    assert slope == pytest.approx(2.0)
    assert abs(ols(xs, ys)[0] - 2.0) > 1  # least squares is bent by it


def test_theil_sen_needs_two_points() -> None:
    with pytest.raises(ValueError):
        theil_sen([1.0], [1.0])


def test_kendall_tau_extremes() -> None:
    assert kendall_tau([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3, 4], [1, 1, 1, 1]) == 0.0


def test_kendall_p_exact_and_approximate() -> None:
    assert kendall_p_increasing([1.0, 2.0, 3.0]) == pytest.approx(1 / 6)
    assert kendall_p_increasing([3.0, 2.0, 1.0]) == 1.0
    assert kendall_p_increasing([float(i) for i in range(12)]) < 1e-4
    assert kendall_p_increasing([1.0]) == 1.0


def test_product_of_uniforms_tail() -> None:
    assert prob_product_of_uniforms_at_most(0.3, 1) == pytest.approx(0.3)
    # k = 2: P(U1 U2 <= t) = t (1 - ln t)
    assert prob_product_of_uniforms_at_most(0.1, 2) == pytest.approx(0.1 * (1 - math.log(0.1)))
    assert prob_product_of_uniforms_at_most(1.5, 3) == 1.0
    assert prob_product_of_uniforms_at_most(0.0, 3) == 0.0


def test_theil_sen_with_every_x_equal_has_no_trend() -> None:
    from harness.verdicts.stats import theil_sen

    assert theil_sen([1.0, 1.0], [0.0, 1.0]) == (0.0, 0.5)
