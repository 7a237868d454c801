"""The whole built-in catalogue against the bundled example client: every scenario passes.

The bundled client is the project's reference of correct behaviour (exponential backoff
with full jitter, per-command timeouts, certificate verification, STARTTLS required), so
a scenario it fails is a scenario with wrong expectations.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.examples.client import DEMO_COMMAND
from harness.model.builtin_scenarios import builtin_names


@pytest.mark.slow
def test_every_builtin_scenario_passes_against_the_bundled_client(tmp_path: Path) -> None:
    report = tmp_path / "catalogue.json"
    code = main(["run", "-j", "8", "--json", str(report), "--", *DEMO_COMMAND])
    scenarios = json.loads(report.read_text())["scenarios"]
    failed = {s["scenario"]: [e["detail"] for e in s["expectations"] if e["status"] == "failed"]
              for s in scenarios if s["outcome"] == "failed"}
    assert failed == {}
    not_exercised = {s["scenario"]: s["why_not_exercised"] for s in scenarios
                     if s["outcome"] == "not-exercised"}
    assert not_exercised == {}
    assert code == 0
    assert sorted(s["scenario"] for s in scenarios) == builtin_names()
    assert len(scenarios) >= 60
