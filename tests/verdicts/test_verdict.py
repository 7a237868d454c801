"""judge(): which results an Expectations value yields, relaxing, and the JSON report."""

from __future__ import annotations

import json

import pytest

from harness.verdicts import (
    AttemptBounds,
    BackoffPolicy,
    Calibration,
    Expectations,
    Result,
    judge,
)
from tests.verdicts.script import Script, retry_series

QUIET = Calibration(samples=200, sleep_s=0.001, p50_s=0.0002, p99_s=0.001, q_s=0.002)
POLICY = BackoffPolicy(initial_s=0.1, factor=2.0, cap_s=1.0, jitter="none")


def test_only_expectations_that_are_set_are_judged() -> None:
    verdict = judge(retry_series([0.1, 0.2]), Expectations(delivered="once"))
    assert [r.name for r in verdict.results] == ["delivered"]
    assert verdict.passed


def test_every_expectation_yields_its_results() -> None:
    expectations = Expectations(
        delivered="once", attempts=AttemptBounds(min=1, max=5), backoff=POLICY,
        no_retry_after_permanent=True, closes_after_421=True, gives_up_within_s=5.0,
        client_exit="zero", refuses_bad_certificate=True, no_plaintext_fallback=True,
        no_plaintext_auth=True, discards_injected_responses=True, re_ehlo_after_starttls=True,
    )
    verdict = judge(retry_series([0.1, 0.2, 0.4]), expectations, client_exit=0,
                    calibration=QUIET, seed=7)
    assert [r.name for r in verdict.results] == [
        "delivered", "attempts", "backoff.floor", "backoff.growth", "backoff.envelope",
        "backoff.cap", "no-retry-after-permanent", "closes-after-421", "gives-up-within",
        "client-exit", "refuses-bad-certificate", "no-plaintext-fallback",
        "no-plaintext-auth", "discards-injected-responses", "re-ehlo-after-starttls",
    ]
    assert verdict.passed, str(verdict)
    assert verdict.seed == 7


def test_a_failed_violation_fails_the_verdict() -> None:
    verdict = judge(retry_series([0.01, 0.02]), Expectations(backoff=POLICY), calibration=QUIET)
    assert not verdict.passed
    assert [r.name for r in verdict.failures] == ["backoff.floor"]


def test_a_relaxed_deviation_is_reported_as_advisory_and_does_not_fail() -> None:
    timeline = retry_series([0.1, 0.2, 0.9, 1.2])  # two delays beyond their envelopes
    strict = judge(timeline, Expectations(backoff=POLICY), calibration=QUIET)
    assert strict.result("backoff.envelope").fails and not strict.passed
    relaxed = judge(timeline, Expectations(backoff=POLICY, relax=frozenset({"backoff"})),
                    calibration=QUIET)
    envelope = relaxed.result("backoff.envelope")
    assert (envelope.level, envelope.status) == ("advisory", "failed")
    assert envelope.evidence["relaxed"] is True
    assert relaxed.passed
    by_name = judge(timeline, Expectations(backoff=POLICY,
                                           relax=frozenset({"backoff.envelope"})),
                    calibration=QUIET)
    assert by_name.passed


def test_violations_cannot_be_relaxed() -> None:
    verdict = judge(retry_series([0.01, 0.2]),
                    Expectations(backoff=POLICY, relax=frozenset({"backoff", "backoff.floor"})),
                    calibration=QUIET)
    assert verdict.result("backoff.floor").level == "violation"
    assert not verdict.passed


def test_inconclusive_and_skipped_never_fail() -> None:
    results = (Result("x", "violation", "inconclusive", "noise"),
               Result("y", "violation", "skipped", "n/a"),
               Result("z", "advisory", "failed", "best practice"))
    assert not any(r.fails for r in results)


def test_the_fitted_policy_is_reported_even_without_a_backoff_expectation() -> None:
    verdict = judge(retry_series([0.1, 0.2, 0.4, 0.8]), Expectations(delivered="once"))
    assert verdict.fitted is not None
    assert verdict.fitted.factor == pytest.approx(2.0, rel=0.01)
    assert "observed backoff: initial 0.100 s, factor 2.00" in str(verdict)


def test_to_dict_is_the_json_report() -> None:
    verdict = judge(retry_series([0.1, 0.2, 0.4]),
                    Expectations(delivered="once", backoff=POLICY), calibration=QUIET, seed=3)
    report = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert report["passed"] is True
    assert report["seed"] == 3
    assert report["calibration"]["overshoot_p999_s"] == pytest.approx(0.002)
    assert report["fitted_policy"]["jitter"] == "none"
    first = report["results"][0]
    assert set(first) == {"name", "level", "status", "detail", "evidence", "key"}


def test_an_unmeasured_run_uses_the_assumed_calibration() -> None:
    verdict = judge(Script().timeline(), Expectations())
    assert verdict.calibration == Calibration.assumed()
    assert verdict.results == ()
    with pytest.raises(KeyError, match="no result 'delivered'"):
        verdict.result("delivered")


def test_an_unbounded_growth_range_is_null_in_json() -> None:
    verdict = judge(retry_series([0.004, 0.008]), Expectations(backoff="increasing"),
                    calibration=QUIET)
    growth = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))["results"][1]
    assert growth["name"] == "backoff.growth"
    assert growth["evidence"]["factor_range"][1] is None
