"""C7: the declared jitter's shape, judged on timelines of many retries.

Each client below retries 60 times under an envelope of 0.4 s (a cap reached at once):
the correct client draws as declared and passes; the broken ones (no jitter, equal jitter
declared as full, full declared as equal, half the envelope) fail in the direction they
break; too few retries (skipped), or envelopes inside the noise (inconclusive), decide
nothing.
"""

from __future__ import annotations

import math
import random

import pytest

from harness.verdicts import Calibration
from harness.verdicts.backoff import judge_backoff
from harness.verdicts.jitter import ALPHA, Z_POWER, deciding_retries, epsilon
from harness.verdicts.result import Result
from harness.verdicts.spec import BackoffPolicy
from tests.verdicts.script import retry_series

QUIET = Calibration(samples=200, sleep_s=0.001, p50_s=0.0002, p99_s=0.001, q_s=0.002)
FULL = BackoffPolicy(initial_s=0.4, factor=2.0, cap_s=0.4, jitter="full")
EQUAL = BackoffPolicy(initial_s=0.4, factor=2.0, cap_s=0.4, jitter="equal")
REACTION_S = 0.002  # what a client's reconnect adds to every sleep on a quiet machine


def delays(draw: str, count: int = 60, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    low, high = {"full": (0.0, 1.0), "equal": (0.5, 1.0), "none": (1.0, 1.0),
                 "half": (0.0, 0.5)}[draw]
    return [0.4 * rng.uniform(low, high) + REACTION_S for _ in range(count)]


def jitter_of(series: list[float], policy: BackoffPolicy,
              calibration: Calibration = QUIET) -> Result:
    results, _ = judge_backoff(retry_series(series), policy, calibration)
    return next(r for r in results if r.name == "backoff.jitter")


@pytest.mark.parametrize("seed", range(5))
def test_a_client_drawing_as_declared_passes(seed: int) -> None:
    assert jitter_of(delays("full", seed=seed), FULL).status == "passed"
    assert jitter_of(delays("equal", seed=seed), EQUAL).status == "passed"


def test_a_client_without_jitter_fails_full_jitter() -> None:
    result = jitter_of(delays("none"), FULL)
    assert (result.level, result.status) == ("advisory", "failed")
    assert "higher in their envelopes" in result.detail
    assert result.evidence["longer_by"] > result.evidence["epsilon"]


def test_equal_jitter_declared_as_full_fails() -> None:
    assert jitter_of(delays("equal"), FULL).status == "failed"


def test_draws_shorter_than_declared_fail_the_other_way() -> None:
    for policy, draw in ((EQUAL, "full"), (FULL, "half")):
        result = jitter_of(delays(draw), policy)
        assert result.status == "failed", (policy.jitter, draw, result)
        assert "lower in their envelopes" in result.detail


def test_few_retries_decide_only_a_gross_breach() -> None:
    few = jitter_of(delays("full", count=8), FULL)
    assert few.status == "skipped" and f"takes {deciding_retries()}" in few.detail
    assert jitter_of(delays("none", count=8), FULL).status == "failed"  # all at the top


def test_envelopes_inside_the_noise_are_not_judged() -> None:
    noisy = Calibration(samples=300, sleep_s=0.001, p50_s=0.005, p99_s=0.02, q_s=0.03)
    result = jitter_of(delays("none"), FULL, noisy)  # 20 q = 0.6 s above the 0.4 s envelope
    assert result.status == "inconclusive"
    assert "timer noise" in result.detail


def test_only_declared_full_or_equal_jitter_is_judged() -> None:
    none = BackoffPolicy(initial_s=0.4, factor=2.0, cap_s=0.4, jitter="none")
    results, _ = judge_backoff(retry_series(delays("none")), none, QUIET)
    assert "backoff.jitter" not in {r.name for r in results}


def test_the_bounds_are_massarts_and_a_pass_has_the_power_to_tell_full_from_equal() -> None:
    # P(one-sided deviation > eps) <= exp(-2 n eps^2) = alpha, for any n
    for n in (5, 22, 100):
        assert epsilon(n) ** 2 * 2 * n == pytest.approx(-math.log(ALPHA))
    n = deciding_retries()
    assert 2 * ALPHA < 1e-3
    assert epsilon(n) + Z_POWER * 0.5 / math.sqrt(n) <= 0.5
    assert epsilon(n - 1) + Z_POWER * 0.5 / math.sqrt(n - 1) > 0.5
