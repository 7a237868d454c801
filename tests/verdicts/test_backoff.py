"""C1 floor, C3 growth, C4 cap, C5 envelope and the fitted policy, on exact timelines."""

from __future__ import annotations

import pytest

from harness.timeline import Timeline
from harness.verdicts.backoff import judge_backoff, support_s
from harness.verdicts.calibration import Calibration
from harness.verdicts.delays import retries
from harness.verdicts.fitted import fit_policy
from harness.verdicts.result import Result
from harness.verdicts.spec import BackoffPolicy
from tests.verdicts.script import Script, retry_series

QUIET = Calibration(samples=200, sleep_s=0.001, p50_s=0.0002, p99_s=0.001, q_s=0.002)
NONE = BackoffPolicy(initial_s=0.1, factor=2.0, jitter="none")
FULL = BackoffPolicy(initial_s=0.1, factor=2.0, jitter="full")


EQUAL = BackoffPolicy(initial_s=0.005, factor=2.0, cap_s=0.04, jitter="equal")


def growth_of(timeline: Timeline, calibration: Calibration) -> Result:
    results, _ = judge_backoff(timeline, "increasing", calibration)
    return {r.name: r for r in results}["backoff.growth"]


def judged(delays: list[float], policy: BackoffPolicy | str) -> dict[str, Result]:
    results, _ = judge_backoff(retry_series(delays), policy, QUIET)  # type: ignore[arg-type]
    return {r.name: r for r in results}


# -- C1 floor ---------------------------------------------------------------------------


def test_floor_passes_a_client_that_sleeps_the_declared_delays() -> None:
    r = judged([0.1, 0.2, 0.4], NONE)["backoff.floor"]
    assert (r.level, r.status) == ("violation", "passed")


def test_floor_fails_a_retry_that_came_too_soon() -> None:
    r = judged([0.1, 0.1, 0.4], NONE)["backoff.floor"]
    assert (r.level, r.status) == ("violation", "failed")
    assert r.evidence["too_early"][0]["attempt"] == 3
    assert r.evidence["too_early"][0]["floor_s"] == pytest.approx(0.2)
    assert "RFC 5321 §4.5.4.1" in r.detail and "Attempt 3" in r.detail


def test_floor_is_hard_but_forgives_timer_granularity() -> None:
    assert judged([0.0995, 0.2, 0.4], NONE)["backoff.floor"].status == "passed"
    assert judged([0.095, 0.2, 0.4], NONE)["backoff.floor"].status == "failed"


def test_floor_for_equal_jitter_is_half_the_envelope() -> None:
    equal = BackoffPolicy(initial_s=0.1, jitter="equal")
    assert judged([0.06, 0.11, 0.25], equal)["backoff.floor"].status == "passed"
    assert judged([0.06, 0.09, 0.25], equal)["backoff.floor"].status == "failed"


def test_full_jitter_short_draws_pass_but_never_waiting_fails() -> None:
    assert judged([0.01, 0.15, 0.05], FULL)["backoff.floor"].status == "passed"
    r = judged([0.001, 0.001, 0.001], FULL)["backoff.floor"]
    assert r.status == "failed"
    assert r.evidence["p_value_full_jitter"] < 1e-4


def test_undeclared_floor_needs_three_instant_retries_to_fail() -> None:
    assert judged([0.001, 0.001, 0.001], "increasing")["backoff.floor"].status == "failed"
    assert judged([0.001, 0.001], "increasing")["backoff.floor"].status == "inconclusive"
    assert judged([0.001, 0.3], "increasing")["backoff.floor"].status == "passed"


def test_no_retry_means_nothing_to_judge() -> None:
    results = judged([0.1], NONE)  # one delay, and that attempt delivered: one retry
    assert results["backoff.floor"].status == "passed"
    from tests.verdicts.script import Script

    s = Script()
    s.delivery(0.0)
    results_none, fitted = judge_backoff(s.timeline(), NONE, QUIET)
    assert fitted is None
    assert {r.status for r in results_none} == {"skipped"}


# -- C5 envelope and C4 cap --------------------------------------------------------------


def test_envelope_passes_within_slack_band_is_inconclusive_beyond_fails() -> None:
    # envelope of retry 1 is 0.1; slack = 0.05 + 0.01
    assert judged([0.15, 0.2, 0.4], NONE)["backoff.envelope"].status == "passed"
    assert judged([0.2, 0.2, 0.4], NONE)["backoff.envelope"].status == "inconclusive"
    r = judged([0.25, 0.4, 0.4], NONE)["backoff.envelope"]
    assert (r.level, r.status) == ("deviation", "failed")
    assert r.evidence["retries"][0]["max_s"] == pytest.approx(0.1)


def test_one_lone_late_delay_is_a_possible_stall_not_a_fail() -> None:
    r = judged([0.25, 0.2, 0.4], NONE)["backoff.envelope"]
    assert r.status == "inconclusive"
    assert "stall" in r.detail


def test_a_constant_reaction_time_is_allowed_but_reported() -> None:
    r = judged([0.2, 0.3, 0.5, 0.9], NONE)["backoff.envelope"]  # 100 ms of client overhead
    assert r.status == "passed"
    assert r.evidence["reaction_s"] == pytest.approx(0.1)
    assert judged([0.2, 0.3, 1.0, 1.5], NONE)["backoff.envelope"].status == "failed"


def test_full_jitter_envelope_is_zero_to_e() -> None:
    assert judged([0.0, 0.2, 0.0], FULL)["backoff.envelope"].status == "passed"
    assert judged([0.05, 0.6, 1.0], FULL)["backoff.envelope"].status == "failed"


def test_decorrelated_envelope_follows_the_previous_delay() -> None:
    decorrelated = BackoffPolicy(initial_s=0.1, factor=3.0, jitter="decorrelated")
    assert support_s(decorrelated, 1, None) == pytest.approx((0.1, 0.3))
    assert support_s(decorrelated, 2, 0.25) == pytest.approx((0.1, 0.75))
    assert judged([0.25, 0.7, 1.5], decorrelated)["backoff.envelope"].status == "passed"
    assert judged([0.25, 1.5, 6.5], decorrelated)["backoff.envelope"].status == "failed"


def test_cap_is_judged_only_when_declared() -> None:
    capped = BackoffPolicy(initial_s=0.1, factor=2.0, cap_s=0.3, jitter="none")
    results = judged([0.1, 0.2, 0.3, 0.3], capped)
    assert results["backoff.cap"].status == "passed"
    assert results["backoff.envelope"].status == "passed"
    assert judged([0.1, 0.2, 0.6, 0.8], capped)["backoff.cap"].status == "failed"
    assert judged([0.1, 0.2, 0.3, 0.8], capped)["backoff.cap"].status == "inconclusive"
    assert judged([0.1, 0.2, 0.4, 0.3], capped)["backoff.cap"].status == "inconclusive"
    assert "backoff.cap" not in judged([0.1, 0.2], NONE)


# -- C3 growth ------------------------------------------------------------------------


def test_growth_passes_the_declared_factor() -> None:
    r = judged([0.1, 0.2, 0.4, 0.8], NONE)["backoff.growth"]
    assert r.status == "passed"
    assert r.evidence["factor"] == pytest.approx(2.0)


def test_growth_fails_constant_delays_that_noise_cannot_explain() -> None:
    r = judged([1.0, 1.0, 1.0, 1.0], NONE)["backoff.growth"]
    assert (r.level, r.status) == ("deviation", "failed")
    assert r.evidence["factor_range"][1] < 1.5


def test_a_constant_reaction_time_does_not_fail_growth() -> None:
    # 400 ms of per-attempt work on top of 0.1, 0.2, 0.4, 0.8: the sleeps still double
    r = judged([0.5, 0.6, 0.8, 1.2], NONE)["backoff.growth"]
    assert r.status != "failed"
    assert r.evidence["reaction_s"] == pytest.approx(0.4)


def test_one_stalled_retry_never_fails_growth() -> None:
    # 0.1, 0.2, 0.4 doubled, but the first retry hit a 0.5 s stall of the machine
    assert judged([0.6, 0.2, 0.4], NONE)["backoff.growth"].status == "inconclusive"
    assert judged([0.1, 0.2, 1.6, 0.8], NONE)["backoff.growth"].status != "failed"
    assert judged([1.0, 1.0], NONE)["backoff.growth"].status == "inconclusive"


def test_growth_is_inconclusive_when_delays_drown_in_slack() -> None:
    assert judged([0.1, 0.1, 0.1], NONE)["backoff.growth"].status == "inconclusive"


def test_growth_needs_two_retries_before_the_cap() -> None:
    capped = BackoffPolicy(initial_s=0.1, cap_s=0.1, jitter="none")
    assert judged([0.1, 0.1, 0.1], capped)["backoff.growth"].status == "skipped"


def test_growth_of_a_jittered_client_never_fails_from_one_run() -> None:
    assert judged([0.3, 0.2, 0.1, 0.05], FULL)["backoff.growth"].status == "inconclusive"
    assert judged([0.05, 0.15, 0.3, 0.7], FULL)["backoff.growth"].status == "passed"


def test_increasing_passes_growth_and_fails_flat_deterministic_delays() -> None:
    assert judged([0.1, 0.2, 0.4, 0.8], "increasing")["backoff.growth"].status == "passed"
    # three rising retries are what a burst of load can make of constant ones
    assert judged([0.1, 0.2, 0.4], "increasing")["backoff.growth"].status == "inconclusive"
    flat = judged([1.0, 1.01, 1.0, 0.99], "increasing")["backoff.growth"]
    assert flat.status == "failed"
    assert "does not back off" in flat.detail
    assert judged([0.1, 0.1, 0.1], "increasing")["backoff.growth"].status == "failed"


def test_a_constant_backoff_fails_growth_only_where_noise_cannot_explain_it() -> None:
    """Five retries 0.1 s apart: flat on a quiet machine; where timer noise reaches a
    tenth of the delays (p99.9 overshoot 12 ms) the same delays are undecidable, and a
    growing series with a stall on each of its first two retries never fails."""
    flat = retry_series([0.1, 0.101, 0.1, 0.102, 0.1])
    quiet = growth_of(flat, QUIET)
    assert quiet.status == "failed"
    assert quiet.evidence["noise_margin_s"] == 0.005
    noisy = Calibration(samples=300, sleep_s=0.001, p50_s=0.001, p99_s=0.008, q_s=0.012)
    assert growth_of(flat, noisy).status == "inconclusive"
    stalled = retry_series([0.1 + 0.3, 0.2 + 0.2, 0.4, 0.8, 1.6])
    assert growth_of(stalled, QUIET).status != "failed"
    assert growth_of(retry_series([0.005] * 5), QUIET).status == "inconclusive"


def test_a_floor_breach_known_only_from_a_close_is_inconclusive() -> None:
    """The false fail under pytest-xdist load: the client dropped an attempt itself (its
    own timeout), a starved event loop stamped the close late, and the next accept came
    1 ms after the stamp. Only spacings from a fault or a reply bound the sleep."""
    s = Script()
    for t in (0.0, 0.0015, 0.0030):  # accepts stamped late: the client had timed out
        s.close(s.attempt(t), "client-close", t + 0.0005)
    results, _ = judge_backoff(s.timeline(), EQUAL, QUIET)
    floor = {r.name: r for r in results}["backoff.floor"]
    assert floor.status == "inconclusive"
    assert "close (client-close)" in floor.detail
    served = retry_series([0.001, 0.001])  # the same spacing after a 421: a real breach
    results, _ = judge_backoff(served, EQUAL, QUIET)
    assert {r.name: r for r in results}["backoff.floor"].status == "failed"
    jumpy = judged([1.5, 0.5, 1.4, 0.6], "increasing")["backoff.growth"]
    assert jumpy.status == "inconclusive"


def test_increasing_growth_is_judged_before_a_fitted_plateau() -> None:
    assert judged([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0], "increasing")[
        "backoff.growth"].status == "passed"


# -- the fitted policy --------------------------------------------------------------------


def test_fit_recovers_initial_factor_and_cap() -> None:
    fitted = fit_policy(retries(retry_series([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])))
    assert fitted is not None
    assert fitted.initial_s == pytest.approx(0.1, rel=0.01)
    assert fitted.factor == pytest.approx(2.0, rel=0.01)
    assert fitted.cap_s == pytest.approx(1.0)
    assert fitted.jitter == "none"
    assert "factor 2.00" in fitted.describe()
    assert fitted.to_dict()["retries"] == 6


def test_fit_guesses_jitter() -> None:
    full = fit_policy(retries(retry_series([0.09, 0.05, 0.1, 0.75])))
    assert full is not None and full.jitter == "full"
    equal = fit_policy(retries(retry_series([0.08, 0.12, 0.3, 0.7])))
    assert equal is not None and equal.jitter == "equal"


def test_fit_of_one_retry_is_just_its_delay() -> None:
    fitted = fit_policy(retries(retry_series([0.3])))
    assert fitted is not None
    assert fitted.initial_s == pytest.approx(0.3)
    assert (fitted.factor, fitted.jitter) == (None, "unknown")
    assert "no cap seen" in fitted.describe()


def test_four_of_five_immediate_retries_fail_the_floor() -> None:
    """A client that never waits, one of whose reconnects a loaded machine slowed to 6 ms."""
    floor = judged([0.0008, 0.006, 0.0007, 0.0005, 0.0006], "increasing")["backoff.floor"]
    assert floor.status == "failed"
    assert floor.evidence["without_waiting"] == [2, 4, 5, 6]
    two_slow = judged([0.0008, 0.006, 0.0007, 0.007, 0.0006], "increasing")["backoff.floor"]
    assert two_slow.status == "inconclusive"
