"""Helpers for the recipe tests: run an example client from examples/ against a few
built-in scenarios through the ``harness`` command, and read the JSON report back."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RECIPES = ROOT / "docs" / "recipes"

REPRESENTATIVE = ("no-fault", "banner-421-throttle", "reset-mid-data", "cert-expired-starttls",
                  "starttls-stripped")
"""A control, a throttle, a cut in the middle of DATA, a bad certificate, an attack."""

PLACEHOLDERS = ("--host", "{host}", "--port", "{port}", "--tls", "{tls}", "--cafile", "{cafile}")

Report = dict[str, dict[str, Any]]


def run_recipe(tmp_path: Path, scenarios: Sequence[str], command: Sequence[str],
               timeout_s: float = 40) -> Report:
    """``harness run SCENARIO... -- COMMAND`` (all at once); each scenario's JSON report
    by name. The exit code must agree with the verdicts."""
    report = tmp_path / "report.json"
    code = main(["run", "-j", str(len(scenarios)), "--timeout", f"{timeout_s:g}",
                 "--json", str(report),
                 *scenarios, "--", *command])
    results: Report = {s["scenario"]: s for s in json.loads(report.read_text())["scenarios"]}
    assert sorted(results) == sorted(scenarios)
    assert code == (0 if all(r["passed"] for r in results.values()) else 1)
    return results


def failures(results: Report) -> dict[str, list[str]]:
    """Scenario -> the failed expectations' names and details, for readable asserts."""
    return {
        name: [f"{e['name']}: {e['detail']}" for e in r["expectations"] if e["status"] == "failed"]
        + [f"client stderr: {r['client']['stderr'][-800:]}"]
        for name, r in results.items() if not r["passed"]
    }


def status(result: dict[str, Any], expectation: str) -> str:
    """The status of one expectation in one scenario's report."""
    (found,) = [e["status"] for e in result["expectations"] if e["name"] == expectation]
    return str(found)


def require(tool: str) -> str:
    """The tool's path, or skip the test saying how to get it."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (scripts/test.sh installs it when run as root)")
    return path


PYTHON = sys.executable
