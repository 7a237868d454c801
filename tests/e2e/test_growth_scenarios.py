"""The catalogue's growth-checking scenarios decide: a client whose delay never grows
fails them, a client that retries at once is never passed, the bundled client passes.

Each scenario faults five attempts, so there are five retries to judge. Where the
machine's timer noise is too large to tell 0.3 s apart from a slowly growing delay, the
result must say inconclusive; the test checks that it does so only there.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.clients import CommandClient
from harness.examples.client import DEMO_COMMAND
from harness.model import load_scenario
from harness.model.builtin_scenarios import builtin_names
from harness.outcome import RunResult
from harness.run import run_scenario
from harness.verdicts import Calibration, calibrate
from harness.verdicts.backoff import DETERMINISTIC_CV, GROWTH_NOISE_RATIO, growth_margin_s
from tests.clients import constant_backoff


def checks_growth(name: str) -> bool:
    """Whether a scenario's growth check can fail: ``backoff: increasing``, or a declared
    policy without jitter. A jittered policy's growth is never failed (one run of a
    jittered client can look flat); its envelope bounds the delays instead."""
    backoff = load_scenario(name).expectations().backoff
    return backoff == "increasing" or (backoff is not None and backoff.jitter == "none")


GROWTH = tuple(name for name in builtin_names() if checks_growth(name))
"""Every catalogue scenario whose growth check can fail: the catalogue decides, not a list."""
CONSTANT_S = constant_backoff.BEHAVIOUR.constant_delay_s or 0.0


def zoo(name: str) -> list[str]:
    return [sys.executable, "-m", f"tests.clients.{name}", "--host", "{host}", "--port",
            "{port}"]


def run_all(command: list[str] | tuple[str, ...], calibration: Calibration) -> list[RunResult]:
    def one(name: str) -> RunResult:
        return run_scenario(load_scenario(name), CommandClient(list(command)), timeout_s=40,
                            calibration=calibration)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, GROWTH))


def stalled(delays: list[float]) -> bool:
    """True when the machine stretched this run's constant delays out of shape (their
    coefficient of variation above DETERMINISTIC_CV): the verdict may then say
    inconclusive, as it must for timing noise."""
    mean = sum(delays) / len(delays)
    spread = (sum((d - mean) ** 2 for d in delays) / len(delays)) ** 0.5
    return spread / mean > DETERMINISTIC_CV


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return calibrate()


def test_every_growth_scenario_faults_five_attempts() -> None:
    assert len(GROWTH) >= 6  # the 421 family and reset-after-connect at least
    for name in GROWTH:
        scenario = load_scenario(name)
        assert scenario.expectations().attempts is not None
        assert scenario.expectations().attempts.min == 6


@pytest.mark.slow
def test_a_constant_backoff_client_fails_every_growth_scenario(calibration: Calibration) -> None:
    for result in run_all(zoo("constant_backoff"), calibration):
        # the noise the run was judged with: measured at its start and as its client ended
        noise = growth_margin_s(result.verdict.calibration)
        decidable = GROWTH_NOISE_RATIO * noise <= CONSTANT_S
        growth = result.verdict.result("backoff.growth")
        assert len(result.timeline.attempts) == 6
        if decidable and not stalled(growth.evidence["delays_s"]):
            assert growth.status == "failed", (result.scenario.name, growth)
            assert not result.passed
            assert "does not back off" in growth.detail
        else:  # a noisy machine, or a stall in this run: undecidable, and never passed
            assert growth.status in ("failed", "inconclusive"), (result.scenario.name, growth)


@pytest.mark.slow
def test_an_immediate_retry_client_is_never_passed(calibration: Calibration) -> None:
    for result in run_all(zoo("retries_instantly"), calibration):
        floor = result.verdict.result("backoff.floor")
        assert floor.status in ("failed", "inconclusive"), (result.scenario.name, floor)
        assert result.verdict.result("backoff.growth").status != "passed" or (
            floor.status == "failed")


@pytest.mark.slow
def test_the_bundled_client_passes_every_growth_scenario(calibration: Calibration) -> None:
    """Control: the same scenarios, a client with capped exponential backoff."""
    for result in run_all(DEMO_COMMAND, calibration):
        assert result.passed, (result.scenario.name, str(result.verdict))
        assert result.verdict.result("backoff.growth").status in ("passed", "inconclusive")
