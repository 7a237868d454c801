"""C0: the slack formula, the noise band, and a real (short) measurement."""

from __future__ import annotations

import pytest

from harness.verdicts.calibration import RECHECK_SAMPLES, Calibration, calibrate, recheck


def quiet(q_s: float = 0.001) -> Calibration:
    return Calibration(samples=100, sleep_s=0.001, p50_s=q_s / 4, p99_s=q_s / 2, q_s=q_s)


def test_slack_has_an_absolute_floor_and_a_relative_part() -> None:
    assert quiet(0.001).slack_s(1.0) == pytest.approx(0.05 + 0.1)
    assert quiet(0.04).slack_s(1.0) == pytest.approx(0.12 + 0.1)
    assert quiet().slack_s(-1.0) == pytest.approx(0.05)


def test_upper_status_passes_within_slack_is_inconclusive_in_the_band_fails_beyond() -> None:
    cal = quiet()
    assert cal.upper_status(1.14, 1.0) == "passed"
    assert cal.upper_status(1.2, 1.0) == "inconclusive"
    assert cal.upper_status(1.31, 1.0) == "failed"
    assert cal.upper_status(1.31, 1.0, allowance_s=0.05) == "inconclusive"
    # the allowance is added once, the band is twice the slack
    assert cal.upper_status(1.81, 1.0, allowance_s=0.5) == "failed"
    assert cal.upper_status(1.64, 1.0, allowance_s=0.5) == "passed"


def test_upper_status_is_inconclusive_where_noise_dominates_the_bound() -> None:
    noisy = quiet(0.05)  # 20 x q = 1 s
    assert noisy.noise_dominates(0.5)
    assert noisy.upper_status(5.0, 0.5) == "inconclusive"
    assert not noisy.noise_dominates(2.0)


def test_lower_bounds_forgive_only_timer_granularity() -> None:
    assert quiet(0.05).early_s(0.1) == pytest.approx(0.002)


def test_calibrate_measures_overshoot() -> None:
    cal = calibrate(samples=5, sleep_s=0.0005)
    assert cal.measured and cal.samples == 15  # thread, loop and reconnect sleeps
    assert 0.0 <= cal.p50_s <= cal.p99_s <= cal.q_s
    assert cal.to_dict()["slack_floor_s"] >= 0.05


def test_calibrate_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        calibrate(samples=0)


def test_assumed_calibration_says_it_was_not_measured() -> None:
    assert Calibration.assumed().to_dict()["measured"] is False


def test_recheck_is_shared_while_recent_and_measured_again_after() -> None:
    first = recheck(max_age_s=60.0)
    assert first.measured and first.samples == 3 * RECHECK_SAMPLES
    assert recheck(max_age_s=60.0) is first  # a run judged right after shares it
    assert recheck(max_age_s=0.0) is not first  # an older one is measured again
