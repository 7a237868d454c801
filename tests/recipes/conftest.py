"""Helpers for the recipe tests: run an example client from examples/ against a few
built-in scenarios through the ``harness`` command, and read the JSON report back."""

from __future__ import annotations

import json
import shutil
import subprocess
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

LOGIN_AND_WORKLOAD = ("auth-421", "auth-535", "rate-limit")
"""Logging in again after a 421 to AUTH, stopping at rejected credentials, and two messages
under a rate limit: the examples read the credentials and the message count the harness
sets (HARNESS_SMTP_USER, HARNESS_SMTP_PASSWORD, HARNESS_SMTP_MESSAGES)."""

PLACEHOLDERS = ("--host", "{host}", "--port", "{port}", "--tls", "{tls}", "--cafile", "{cafile}")

Report = dict[str, dict[str, Any]]

SILENT = "never-answers-briefly"
"""``never-answers`` with a short client time limit (see :func:`silent_server`)."""


def silent_server(tmp_path: Path, limit_s: float = 4) -> str:
    """A scenario file: ``never-answers``, its client stopped after ``limit_s``. The
    scenario's own limit (90 s) is one ``--timeout`` never cuts; a hanging client would
    use all of it."""
    path = tmp_path / f"{SILENT}.yaml"
    path.write_text(f"name: {SILENT}\nextends: never-answers\nclient:\n  timeout_s: {limit_s:g}\n")
    return str(path)


def run_recipe(tmp_path: Path, scenarios: Sequence[str], command: Sequence[str],
               timeout_s: float = 40) -> Report:
    """``harness run SCENARIO... -- COMMAND`` (all at once; a scenario file is named like
    its scenario); each scenario's JSON report by name. The exit code must agree with
    the verdicts."""
    report = tmp_path / "report.json"
    code = main(["run", "-j", str(len(scenarios)), "--timeout", f"{timeout_s:g}",
                 "--json", str(report),
                 *scenarios, "--", *command])
    results: Report = {s["scenario"]: s for s in json.loads(report.read_text())["scenarios"]}
    assert sorted(results) == sorted(Path(s).stem if s.endswith(".yaml") else s for s in scenarios)
    assert code == (0 if all(r["passed"] for r in results.values()) else 1)
    return results


def check_login_and_workload(results: Report) -> None:
    """The example logged in again on the connection after the 421 to AUTH, stopped at
    the rejected credentials (exit 2, nothing more tried), and sent both messages."""
    retried = results["auth-421"]["attempts"][-1]["events"]
    assert any(e["kind"] == "command" and e["text"].upper().startswith("AUTH") for e in retried)
    assert results["auth-535"]["client"]["exit_code"] == 2
    assert len(results["auth-535"]["attempts"]) == 1
    assert len({m["message_id"] for m in results["rate-limit"]["messages"]}) == 2


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


def detail(result: dict[str, Any], expectation: str) -> str:
    """What one expectation in one scenario's report says."""
    (found,) = [e["detail"] for e in result["expectations"] if e["name"] == expectation]
    return str(found)


def require(tool: str,
            how: str = "scripts/test.sh installs it when run as root") -> str:
    """The tool's path, or skip the test saying how to get it."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed ({how})")
    return path


PYTHON = sys.executable


def require_ok(command: Sequence[str], why: str) -> None:
    """Skip the test with ``why`` unless ``command`` (a probe for a library) succeeds."""
    require(command[0])
    probe = subprocess.run(list(command), capture_output=True, timeout=60, check=False)
    if probe.returncode != 0:
        pytest.skip(why)


JAKARTA_MAIL = (Path("/usr/share/java/jakarta-mail.jar"),
                Path("/usr/share/java/jakarta-activation.jar"))
"""Debian's Jakarta Mail 2.0 and Jakarta Activation (libjakarta-mail-java)."""


@pytest.fixture(scope="session")
def java_command(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``java ... SendMail``, compiled once per session from examples/jakarta-mail/."""
    require("java")
    javac = require("javac")
    if not all(jar.is_file() for jar in JAKARTA_MAIL):
        pytest.skip("Jakarta Mail is not installed (Debian: libjakarta-mail-java;"
                    " scripts/test.sh installs it when run as root)")
    classes = tmp_path_factory.mktemp("jakarta-mail")
    classpath = ":".join(str(jar) for jar in JAKARTA_MAIL)
    subprocess.run([javac, "-cp", classpath, "-d", str(classes),
                    str(EXAMPLES / "jakarta-mail" / "SendMail.java")], check=True, timeout=300)
    return ["java", "-cp", f"{classes}:{classpath}", "SendMail"]


@pytest.fixture(scope="session")
def go_command(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The Go sender, built once per session from examples/go-net-smtp/."""
    go = require("go")
    binary = tmp_path_factory.mktemp("go-net-smtp") / "send"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=EXAMPLES / "go-net-smtp",
                   check=True, timeout=300)
    return [str(binary)]
