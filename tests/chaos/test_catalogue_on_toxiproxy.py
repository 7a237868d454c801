"""The network scenarios give the same verdicts on a real Toxiproxy as on the embedded proxy.

Runs only when TOXIPROXY_URL points at a Toxiproxy (skipped otherwise): every scenario of
the catalogue with a ``network:`` section (``down`` included) runs the bundled client once
through each backend, and the outcomes and failed checks must agree.
"""

from __future__ import annotations

import os

import pytest

from harness.chaos.backend import ENV_URL
from harness.clients import CommandClient
from harness.examples.client import DEMO_COMMAND
from harness.model import Scenario
from harness.model.builtin_scenarios import builtin_names, builtin_path
from harness.outcome import RunResult
from harness.run import run_scenario

URL = os.environ.get(ENV_URL)
NETWORK = [name for name in builtin_names()
           if Scenario.from_path(builtin_path(name)).network]

pytestmark = pytest.mark.skipif(not URL, reason=f"set {ENV_URL} to run against a real Toxiproxy")


def _judged(result: RunResult) -> tuple[str, list[str]]:
    return result.outcome, sorted(r.name for r in result.verdict.failures)


def test_the_catalogue_has_network_scenarios_including_down() -> None:
    assert len(NETWORK) >= 5
    assert {"proxy-down-first-attempts", "proxy-down-for-1s"} <= set(NETWORK)


@pytest.mark.parametrize("name", NETWORK)
def test_same_verdict_on_both_backends(name: str) -> None:
    scenario = Scenario.from_path(builtin_path(name))
    client = CommandClient(DEMO_COMMAND)
    embedded = run_scenario(scenario, client, seed=11)
    real = run_scenario(scenario, client, seed=11, toxiproxy_url=URL)
    assert _judged(real) == _judged(embedded), (real.timeline.transcript(),
                                                embedded.timeline.transcript())
    assert real.outcome == "passed", real.why
