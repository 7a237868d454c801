"""C7 end to end: 60 connections refused in a row, a client declared full-jitter.

The bundled client's backoff (full jitter, here under a 0.3 s cap) passes
``backoff.jitter``; the same client without jitter fails it, as an advisory. Where the
run's calibrated noise puts the 0.3 s envelope inside 20 times the timer noise (a loaded
machine), neither is decided, and neither is passed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.clients import CallableClient, Target
from harness.examples.client import Backoff, Policy, Pool, build_message, send_all
from harness.model import Scenario
from harness.outcome import RunResult
from harness.run import run_scenario
from harness.verdicts import calibrate
from harness.verdicts.jitter import deciding_retries
from tests.clients.no_jitter import NoJitter

REFUSED = 60
ENVELOPE_S = 0.3
SCENARIO = f"""
name: jitter-shape
about: 'The first {REFUSED} connections are refused with 421; the client declares full
  jitter under a {ENVELOPE_S} s cap.'
faults:
- attempts: 1-{REFUSED}
  at: banner
  reply: "421 4.3.2 Try again later"
expect:
  delivered: once
  backoff: {{initial_s: {ENVELOPE_S}, factor: 2.0, cap_s: {ENVELOPE_S}, jitter: full}}
"""
POLICY = Policy(initial_s=ENVELOPE_S, cap_s=ENVELOPE_S, max_attempts=REFUSED + 5)


def client(rng: random.Random) -> CallableClient:
    def send(target: Target) -> None:
        pool = Pool(target.host, target.port, POLICY)
        message = build_message("sender@harness.example", ["sink@harness.example"])
        if send_all(pool, [message], Backoff(POLICY, rng)):
            raise ConnectionError("not delivered")

    return CallableClient(send, name=type(rng).__name__)


@pytest.mark.slow
def test_full_jitter_passes_the_shape_and_no_jitter_fails_it() -> None:
    assert deciding_retries() <= REFUSED
    scenario = Scenario.from_str(SCENARIO, source="jitter-shape.yaml")
    calibration = calibrate()
    runs: dict[str, Callable[[], RunResult]] = {
        name: (lambda rng=rng: run_scenario(scenario, client(rng), calibration=calibration))
        for name, rng in (("full", random.Random(1)), ("none", NoJitter(1)))}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {name: future.result() for name, future in
                   [(name, pool.submit(run)) for name, run in runs.items()]}
    for name, result in results.items():
        assert len(result.timeline.attempts) == REFUSED + 1, name
        jitter = result.verdict.result("backoff.jitter")
        if result.verdict.calibration.noise_dominates(ENVELOPE_S):
            assert jitter.status == "inconclusive", (name, jitter)
        elif name == "full":
            assert jitter.status == "passed", jitter
            assert result.passed
        else:
            assert (jitter.level, jitter.status) == ("advisory", "failed"), jitter
            assert "higher in their envelopes" in jitter.detail
