"""C6 herd dispersion, C8 reset after success and C9 attempt budget, on exact timelines."""

from __future__ import annotations

import random

import pytest

from harness.timeline import Timeline
from harness.verdicts import Expectations, judge
from harness.verdicts.budget import attempt_budget
from harness.verdicts.calibration import Calibration
from harness.verdicts.herd import MIN_HERD, find_herd, herd_disperses
from harness.verdicts.reset import resets_backoff
from harness.verdicts.spec import BackoffPolicy, HerdSpec
from tests.verdicts.script import Script

QUIET = Calibration(samples=200, sleep_s=0.001, p50_s=0.0002, p99_s=0.001, q_s=0.002)
OUTAGE_ENDS_S = 3.0
DELAY_S = 0.8


def herd(delays: list[float], *, arrivals_s: float = 1.0, late: int = 0) -> Timeline:
    """Clients connect over ``arrivals_s``, are held and all refused with 421 at
    OUTAGE_ENDS_S (``late`` of them connect after that and are refused at once), then
    each retries ``delays[k]`` after the refusal and delivers."""
    s = Script()
    k = len(delays)
    held = [s.attempt(arrivals_s * i / k) for i in range(k - late)]
    for i, a in enumerate(held):
        t = OUTAGE_ENDS_S + 0.0001 * i
        s.fault(a, "reply", "banner", "send", t).reply(a, "421 4.3.2 Going down", t)
        s.close(a, "server-close", t + 0.0002)
    for i in range(late):
        a = s.banner_421(OUTAGE_ENDS_S + 0.3 + 0.2 * i)
    for i, d in enumerate(sorted(delays)):
        s.delivery(OUTAGE_ENDS_S + d, message_id=f"<m{i}@test>")
    return s.recorder.timeline()


def test_a_full_jitter_fleet_disperses() -> None:
    rng = random.Random(7)
    r = herd_disperses(herd([rng.uniform(0, DELAY_S) + 0.02 for _ in range(20)]), DELAY_S,
                       QUIET, clients=20)
    assert (r.name, r.level, r.status) == ("herd-disperses", "deviation", "passed")
    assert r.evidence["early"] >= 10 and len(r.evidence["failed_together"]) == 20


def test_a_fleet_without_jitter_returns_as_one_wave_and_fails() -> None:
    rng = random.Random(7)
    r = herd_disperses(herd([DELAY_S + rng.uniform(0, 0.05) for _ in range(20)]), DELAY_S,
                       QUIET, clients=20)
    assert (r.level, r.status) == ("deviation", "failed")
    assert r.evidence["early"] == 0
    assert "one wave" in r.detail and "jitter" in r.detail


def test_a_slow_reaction_is_no_excuse_and_no_false_wave() -> None:
    """Noise only lengthens delays: a no-jitter fleet never has an early retry, however
    loaded the machine; a jittered one keeps some while reactions stay under E."""
    rng = random.Random(3)
    assert herd_disperses(herd([DELAY_S + rng.uniform(0, 0.6) for _ in range(20)]),
                          DELAY_S, QUIET, clients=20).status == "failed"
    assert herd_disperses(herd([rng.uniform(0, DELAY_S) + 0.3 for _ in range(20)]),
                          DELAY_S, QUIET, clients=20).status == "passed"


def test_a_small_herd_without_an_early_retry_is_undecided() -> None:
    r = herd_disperses(herd([DELAY_S + 0.01 * i for i in range(MIN_HERD - 1)]), DELAY_S,
                       QUIET, clients=MIN_HERD - 1)
    assert r.status == "inconclusive"


def test_a_herd_missing_a_client_is_undecided() -> None:
    t = herd([DELAY_S + 0.01 * i for i in range(20)], late=1)
    found = find_herd(t, QUIET.noise_s())
    assert found is not None and len(found.failed) == 19
    assert herd_disperses(t, DELAY_S, QUIET, clients=20).status == "inconclusive"


def test_no_herd_is_skipped() -> None:
    s = Script()
    s.banner_421(0.0)
    s.delivery(0.5)
    r = herd_disperses(s.recorder.timeline(), DELAY_S, QUIET, clients=1)
    assert r.status == "skipped"


def test_undeclared_is_advisory() -> None:
    rng = random.Random(5)
    wave = herd([DELAY_S + rng.uniform(0, 0.01) for _ in range(20)])
    r = herd_disperses(wave, None, QUIET, clients=20)
    assert (r.level, r.status) == ("advisory", "failed")
    spread_out = herd([rng.uniform(0, DELAY_S) for _ in range(20)])
    assert herd_disperses(spread_out, None, QUIET, clients=20).status == "passed"


def test_judge_runs_the_fleet_checks() -> None:
    e = Expectations(herd_disperses=HerdSpec(DELAY_S), attempt_budget=3)
    v = judge(herd([DELAY_S + 0.01 * i for i in range(20)]), e, calibration=QUIET, clients=20)
    assert v.result("herd-disperses").status == "failed"
    assert v.result("attempt-budget").status == "passed"
    assert not v.passed


# -- C8: reset after success --------------------------------------------------------------

POLICY = BackoffPolicy(initial_s=0.1, factor=2.0, cap_s=2.0, jitter="none")


def two_series(first: list[float], second: list[float]) -> Timeline:
    """Fail, retry after each of ``first``, deliver; fail again, retry after ``second``."""
    s = Script()
    t = 0.0
    for series, mid in ((first, "<m1@test>"), (second, "<m2@test>")):
        s.banner_421(t)
        t += 0.0005
        for i, d in enumerate(series):
            t += d
            if i < len(series) - 1:
                s.banner_421(t)
                t += 0.0005
        s.delivery(t, message_id=mid)
        t += 0.01
    return s.recorder.timeline()


def test_a_client_that_resets_passes() -> None:
    t = two_series([0.1, 0.2, 0.4], [0.1, 0.2])
    r = resets_backoff(t, POLICY, QUIET)
    assert (r.name, r.level, r.status) == ("resets-backoff", "deviation", "passed")
    assert resets_backoff(t, "increasing", QUIET).status == "passed"


def test_a_client_that_keeps_its_grown_delay_fails() -> None:
    t = two_series([0.1, 0.2, 0.4], [0.8, 1.6])
    r = resets_backoff(t, POLICY, QUIET)
    assert r.status == "failed"
    assert r.evidence["retries"][0]["without_reset_s"] == pytest.approx(0.8)
    assert "Reset the delay" in r.detail
    assert resets_backoff(t, "increasing", QUIET).status == "failed"  # deterministic


def test_one_late_retry_alone_is_undecided() -> None:
    assert resets_backoff(two_series([0.1, 0.2, 0.4], [0.8, 0.2]), POLICY,
                          QUIET).status == "inconclusive"


def test_a_jittered_undeclared_client_is_never_failed() -> None:
    t = two_series([0.09, 0.02, 0.35], [0.7, 1.5])
    assert resets_backoff(t, "increasing", QUIET).status in {"inconclusive", "passed"}


def test_no_second_series_is_skipped() -> None:
    s = Script()
    s.banner_421(0.0)
    s.delivery(0.1)
    assert resets_backoff(s.recorder.timeline(), POLICY, QUIET).status == "skipped"


# -- C9: attempt budget -----------------------------------------------------------------


def test_budget_counts_connections_per_message() -> None:
    t = two_series([0.1, 0.2, 0.4], [0.1])  # 4 connections, then 2
    assert attempt_budget(t, 4, messages=2).status == "passed"
    r = attempt_budget(t, 3, messages=2)
    assert (r.name, r.level, r.status) == ("attempt-budget", "deviation", "failed")
    assert "attempts 1-4" in r.detail


def test_budget_of_a_fleet_is_the_total() -> None:
    t = herd([DELAY_S] * 10)  # 20 connections for 10 messages
    assert attempt_budget(t, 2, clients=10).status == "passed"
    assert attempt_budget(t, 1, clients=10).status == "failed"


# -- the statistic's false-fail rate, simulated (benchmarks/bench_herd.py) ----------------


def test_simulated_false_fail_rate_is_below_one_in_a_thousand_and_no_jitter_always_fails() -> None:
    from benchmarks.bench_herd import loaded, simulate

    trials = 20_000  # no fail in 20,000: below 1.5e-4 at 95 % confidence
    assert simulate("full", DELAY_S, 20, trials, loaded, shared_stalls=True) == 0
    assert simulate("none", DELAY_S, 20, 2_000, loaded, shared_stalls=True) == 2_000


def test_a_last_wave_split_wider_than_the_window_is_undecided() -> None:
    """Four waves of 20 (the herd-outage scenario), the last one's replies spread over
    0.3 s: the last whole wave is the third, whose 'retries' are the split fourth wave,
    refused 0.4 s later by a fleet without jitter. Judged, it would pass; undecided."""
    s = Script()
    attempts = {k: s.attempt(0.001 * k) for k in range(20)}
    t = 1.0
    for wave, delay in enumerate((0.1, 0.2, 0.4, 0.8)):
        for k, a in attempts.items():
            at = t + (0.015 * k if wave == 3 else 0.0001 * k)
            s.fault(a, "reply", "banner", "send", at).reply(a, "421 4.3.2 Going down", at)
            s.close(a, "server-close", at + 0.0002)
        attempts = {k: s.attempt(t + 0.015 * k + delay) for k in range(20)}
        t += 1.5
    r = herd_disperses(s.recorder.timeline(), DELAY_S, QUIET, clients=20)
    assert r.status == "inconclusive"
    assert r.evidence["refused_after"] == 20 and "did not fail at one instant" in r.detail


NOISY = Calibration(samples=300, sleep_s=0.001, p50_s=0.005, p99_s=0.02, q_s=0.025)
"""A loaded machine's noise: every bound of a fresh series (0.1-0.4 s) is under 20 q."""


def test_on_a_noisy_machine_the_grown_delays_still_fail() -> None:
    assert NOISY.noise_dominates(0.4)
    t = two_series([0.1, 0.2, 0.4], [0.7, 1.5, 1.8])
    r = resets_backoff(t, POLICY, NOISY)
    assert r.status == "failed", r
    assert [row["status"] for row in r.evidence["retries"]] == ["failed"] * 3


def test_on_a_noisy_machine_a_late_fresh_series_is_undecided_not_failed() -> None:
    # each retry 0.25 s past its fresh bound: beyond two slacks, within four
    t = two_series([0.1, 0.2, 0.4], [0.35, 0.45, 0.65])
    assert resets_backoff(t, POLICY, NOISY).status == "inconclusive"
    assert resets_backoff(two_series([0.1, 0.2, 0.4], [0.1, 0.2, 0.4]), POLICY,
                          NOISY).status == "passed"


def test_a_client_a_wave_behind_does_not_pass_a_fleet_without_jitter() -> None:
    """Nineteen clients refused together, the twentieth (started late) alone; then all
    twenty together, the late one at its shorter second delay: its early retry is no
    jitter. The control: the same fleet in step fails."""

    def fleet(behind: bool) -> Timeline:
        s = Script()
        for i in range(19 if behind else 20):
            s.banner_421(1.0 + 0.0001 * i)
        if behind:
            s.banner_421(1.6)
        for i in range(20):
            s.banner_421(OUTAGE_ENDS_S + 0.0001 * i)
        for i in range(20):
            late = behind and i == 0
            s.delivery(OUTAGE_ENDS_S + (DELAY_S / 2 if late else DELAY_S) + 0.001 * i,
                       message_id=f"<m{i}@test>")
        return s.recorder.timeline()

    r = herd_disperses(fleet(behind=True), DELAY_S, QUIET, clients=20)
    assert r.status == "inconclusive", r
    assert r.evidence["waves_before"] == [19, 1]
    assert "fell a wave behind" in r.detail
    assert herd_disperses(fleet(behind=False), DELAY_S, QUIET, clients=20).status == "failed"
