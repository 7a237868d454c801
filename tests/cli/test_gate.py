"""The gate tells the truth: nothing tested is never PASS, and limits are the ones that apply.

Each case runs the real ``harness`` command line (in process) against real clients on
loopback: a client that never connects, a plaintext client on TLS scenarios, a planned
fault the message is too small to reach, a client the harness has to stop.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.model.builtin_scenarios import builtin_names
from harness.outcome import EXIT_FAILED, EXIT_NOT_EXERCISED, EXIT_PASSED, exit_code

BUNDLED = [sys.executable, "-m", "harness.examples.client", "--host", "{host}", "--port",
           "{port}", "--tls", "{tls}", "--cafile", "{cafile}", "--timeout", "2"]
PLAINTEXT = [sys.executable, "-m", "harness.examples.client", "--host", "{host}", "--port",
             "{port}", "--tls", "none", "--timeout", "1", "--max-attempts", "2"]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", *args])
    return code, capsys.readouterr().out


def test_a_client_that_never_connects_passes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    code, out = _run(["-j", "4", "--json", str(report), "--", "false"], capsys)
    assert code == EXIT_NOT_EXERCISED, out
    scenarios = json.loads(report.read_text())["scenarios"]
    assert [s["scenario"] for s in scenarios] == builtin_names()
    for scenario in scenarios:
        assert scenario["outcome"] == "not-exercised" and scenario["passed"] is False
        (why,) = scenario["why_not_exercised"]
        assert why.startswith("the client never connected to 127.0.0.1:"), why
        assert "exited with code 1" in why
    assert " PASS " not in out and f"0 passed, 0 failed, {len(scenarios)} not exercised" in out
    assert "gave up on a transient failure" not in out  # no blame when nothing happened


def test_accepting_a_known_not_exercised_scenario_lets_the_gate_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, carol = tmp_path / "junit.xml", tmp_path / "rcpt-550-carol.yaml"
    carol.write_text("name: rcpt-550-carol\nfaults:\n  - at: rcpt\n    match: carol@\n"
                     "    reply: 550 5.1.1 No such user\nexpect:\n  delivered: once\n")
    args = ["no-fault", str(carol), "--junit", str(junit), "--", *BUNDLED]
    code, out = _run(args, capsys)
    assert code == EXIT_NOT_EXERCISED, out
    assert "no RCPT TO on attempt 1 contained 'carol@'" in out
    case = ET.parse(junit).getroot().find(".//testcase[@name='rcpt-550-carol']")
    assert case is not None and case.find("failure").get("type") == "not-exercised"

    code, out = _run([*args[:-len(BUNDLED) - 1], "--accept-not-exercised", "rcpt-550-carol",
                      "--", *BUNDLED], capsys)
    assert code == EXIT_PASSED, out
    assert "1 passed, 0 failed, 1 not exercised (1 accepted)" in out
    case = ET.parse(junit).getroot().find(".//testcase[@name='rcpt-550-carol']")
    skipped = case.find("skipped") if case is not None else None
    assert skipped is not None and "carol@" in skipped.get("message", "")


def test_a_plaintext_client_does_not_pass_certificate_scenarios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    code, out = _run(["cert-expired-implicit", "cert-expired-starttls", "--json", str(report),
                      "--", *PLAINTEXT], capsys)
    assert code != EXIT_PASSED, out
    implicit, starttls = json.loads(report.read_text())["scenarios"]
    assert implicit["outcome"] == "not-exercised"
    assert "no TLS ClientHello arrived on the implicit-TLS port" in implicit["why_not_exercised"][0]
    assert starttls["outcome"] == "not-exercised"
    assert starttls["why_not_exercised"][0].startswith("the client never issued STARTTLS")


def test_the_same_clients_pass_when_they_do_use_tls(capsys: pytest.CaptureFixture[str]) -> None:
    """The control twin: the bundled client verifies and refuses both certificates."""
    code, out = _run(["cert-expired-implicit", "cert-expired-starttls", "--", *BUNDLED], capsys)
    assert code == EXIT_PASSED, out


def test_a_fault_the_message_never_reaches_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "big-reset.yaml"
    scenario.write_text("name: big-reset\nfaults:\n  - at: body\n    after_bytes: 100000\n"
                        "    reset: true\nexpect:\n  delivered: once\n  attempts: {min: 2}\n")
    code, out = _run([str(scenario), "--", *BUNDLED], capsys)
    assert code == EXIT_NOT_EXERCISED, out
    assert "the planned reset at body never fired: it fires after 100,000 bytes" in out
    assert "the largest message on attempt 1 had" in out


def test_control_twin_a_reachable_reset_fires_and_the_scenario_is_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "small-reset.yaml"
    scenario.write_text("name: small-reset\nfaults:\n  - at: body\n    after_bytes: 10\n"
                        "    attempts: 1\n    reset: true\n"
                        "expect:\n  delivered: once\n  attempts: {min: 2}\n")
    code, out = _run([str(scenario), "--", *BUNDLED], capsys)
    assert code == EXIT_PASSED, out


def test_a_client_the_harness_stopped_never_counts_as_giving_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "hangs.yaml"
    scenario.write_text("name: hangs\nextends: never-answers\nclient:\n  timeout_s: 2\n")
    hanging = [sys.executable, "-c", "import socket,sys,time; s=socket.create_connection("
               "(sys.argv[1], int(sys.argv[2]))); time.sleep(60)", "{host}", "{port}"]
    report = tmp_path / "report.json"
    code, out = _run([str(scenario), "--json", str(report), "--", *hanging], capsys)
    assert code == EXIT_FAILED, out
    (data,) = json.loads(report.read_text())["scenarios"]
    results = {r["name"]: r for r in data["expectations"]}
    assert results["gives-up-within"]["status"] == "failed"
    assert "the harness stopped it" in results["gives-up-within"]["detail"]
    assert results["finishes-in-time"]["status"] == "failed"
    assert data["time_limit_s"] == 2 and data["time_limit_from"] == "scenario"


def test_timeout_is_the_default_and_never_cuts_a_scenarios_own_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, own_limit = tmp_path / "report.json", tmp_path / "own-limit.yaml"
    own_limit.write_text("name: own-limit\nclient:\n  timeout_s: 45\nexpect:\n"
                         "  delivered: once\n")
    code, out = _run([str(own_limit), "no-fault", "--timeout", "7", "--json", str(report),
                      "--", *BUNDLED], capsys)
    assert code == EXIT_PASSED, out
    own, default = json.loads(report.read_text())["scenarios"]
    assert (own["time_limit_s"], own["time_limit_from"]) == (45, "scenario")
    assert (default["time_limit_s"], default["time_limit_from"]) == (7, "--timeout")


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_nonsense_time_limits_are_usage_errors(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "no-fault", "--timeout", value, "--", "true"]) == 2
    assert "seconds" in capsys.readouterr().err


def test_exit_codes_follow_the_documented_order() -> None:
    assert exit_code([("a", "passed")]) == 0
    assert exit_code([("a", "passed"), ("b", "not-exercised")]) == 4
    assert exit_code([("a", "failed"), ("b", "not-exercised")]) == 1
    assert exit_code([("b", "not-exercised")], accept_not_exercised=["b"]) == 0
    assert exit_code([("b", "not-exercised")], accept_not_exercised=["all"]) == 0
    assert exit_code([("a", "passed")], interrupted_by="SIGTERM") == 143
    assert exit_code([("a", "failed")], interrupted_by="SIGINT") == 130


def test_demo_runs_the_bundled_client_through_the_same_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`harness demo` is `run` with the bundled client: same gate, same HTML report."""
    import harness.batch

    monkeypatch.setattr(harness.batch, "builtin_names", lambda: ["no-fault", "mail-421"])
    html = tmp_path / "demo.html"
    code = main(["demo", "--seed", "1", "--html", str(html)])
    out = capsys.readouterr().out
    assert code == EXIT_PASSED, out
    assert "2 passed, 0 failed" in out
    assert "no-fault" in html.read_text()
