"""The ``harness`` command, in process through ``main()`` and once as a real subprocess."""

from __future__ import annotations

import io
import json
import smtplib
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from harness.cli import main
from harness.model.builtin_scenarios import builtin_names
from harness.report import REPORT_SCHEMA
from harness.serve import serve_scenario

CLIENT = [sys.executable, "-m", "harness.examples.client", "--host", "{host}", "--port",
          "{port}", "--tls", "{tls}", "--cafile", "{cafile}", "--timeout", "2"]
NEVER_RETRIES = [sys.executable, "-c",
                 "import smtplib,sys; s=smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=5);"
                 "s.sendmail('a@harness.test', ['b@harness.test'], 'Subject: x\\r\\n\\r\\nx');"
                 "s.quit()", "{host}", "{port}"]


def test_list_names_every_builtin_with_what_it_simulates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == builtin_names()
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_run_passes_and_writes_json_and_junit(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    code = main(["run", "no-fault", "banner-421-throttle", "--seed", "7", "--json", str(report),
                 "--junit", str(junit), "--", *CLIENT])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS no-fault" in out and "2 passed, 0 failed" in out
    data = json.loads(report.read_text())
    jsonschema.validate(data, REPORT_SCHEMA)
    assert data["passed"] is True and data["seed"] == 7
    throttle = data["scenarios"][1]
    assert throttle["scenario"] == "banner-421-throttle" and throttle["seed"] == 7
    assert [a["closed_by"] for a in throttle["attempts"]][:2] == ["server-close"] * 2
    assert throttle["messages"][0]["attempt"] == len(throttle["attempts"])
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "0"


def test_run_fails_a_client_that_never_retries_naming_the_expectation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    code = main(["run", "banner-421-throttle", "--json", str(report), "--junit", str(junit),
                 "--", *NEVER_RETRIES])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL banner-421-throttle" in out and "violation delivered:" in out
    failed = {e["name"] for e in json.loads(report.read_text())["scenarios"][0]["expectations"]
              if e["status"] == "failed"}
    assert {"delivered", "attempts", "client-exit"} <= failed
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case is not None and case.find("failure") is not None


def test_client_past_the_time_limit_is_stopped_and_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "hang.yaml"
    scenario.write_text("name: hang\nfaults:\n  - {at: banner, hang: true}\n"
                        "expect: {client-exit: zero}\n")
    hangs = [sys.executable, "-c", "import socket,sys,time; s=socket.create_connection("
             "(sys.argv[1], int(sys.argv[2]))); s.recv(10)", "{host}", "{port}"]
    report = tmp_path / "report.json"
    assert main(["run", str(scenario), "--timeout", "1", "--json", str(report), "--",
                 *hangs]) == 1
    client = json.loads(report.read_text())["scenarios"][0]["client"]
    assert client["timed_out"] is True and client["exit_code"] is None
    assert "client stopped at limit" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "no-such-scenario", "--", "true"], "(`harness list` names them)"),
        (["run", "no-faul", "--", "true"], "did you mean 'no-fault'"),
        (["run", "no-fault"], "names no client: give the client command after --"),
        (["run", "no-fault", "--", "client", "{prot}"], "did you mean '{port}'"),
        (["run", "no-fault", "--", "./no-such-client"], "command not found: ./no-such-client"),
        (["run", "no-fault", "-j", "0", "--", "true"], "jobs must be 1 or more"),
    ],
)
def test_user_mistakes_exit_2_with_one_clear_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_invalid_scenario_lists_every_problem_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nfaults:\n  - {at: banner, reply: '421 x', attemps: [1]}\n"
                   "expect: {deliverd: once}\n")
    assert main(["run", str(bad), "--", "true"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3" in err and "attempts" in err
    assert f"{bad}:4" in err and "delivered" in err
    assert main(["validate", str(bad)]) == 2


def test_validate_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.model.builtin_scenarios import builtin_path

    assert main(["validate", str(builtin_path("no-fault"))]) == 0
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert "faults" in schema["properties"]
    assert main(["schema", "--report"]) == 0
    assert json.loads(capsys.readouterr().out) == REPORT_SCHEMA


def test_parallel_jobs_give_the_same_verdicts(tmp_path: Path) -> None:
    names = ["no-fault", "banner-421-throttle", "reset-mid-data", "store-then-drop"]

    def verdicts(jobs: int) -> list[tuple[str, bool, list[str]]]:
        report = tmp_path / f"j{jobs}.json"
        main(["run", *names, "-j", str(jobs), "--seed", "3", "--json", str(report), "--",
              *CLIENT])
        # timing noise may make a check inconclusive in one run and not the other; the
        # verdict and what failed must not change
        return [(s["scenario"], s["passed"],
                 [e["name"] for e in s["expectations"] if e["status"] == "failed"])
                for s in json.loads(report.read_text())["scenarios"]]

    assert verdicts(4) == verdicts(1)


class Announced(io.StringIO):
    """A stream that says when the server announced it is listening."""

    def __init__(self) -> None:
        super().__init__()
        self.listening = threading.Event()

    def write(self, text: str) -> int:
        if text.startswith("serving "):
            self.listening.set()
        return super().write(text)


def test_serve_on_a_fixed_port_until_decided(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port for the test; serve itself binds it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report, out = tmp_path / "serve.json", Announced()
    codes: list[int] = []
    server = threading.Thread(target=lambda: codes.append(serve_scenario(
        "no-fault", host="127.0.0.1", port=port, quiet_s=0.2, timeout_s=60, json_path=report,
        stream=out)))
    server.start()
    assert out.listening.wait(30)
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.sendmail("a@harness.test", ["b@harness.test"], "Subject: s\r\n\r\nserved\r\n")
    server.join(60)
    assert codes == [0]
    data = json.loads(report.read_text())
    assert data["passed"] and len(data["scenarios"][0]["messages"]) == 1
    assert "verdict decided" in data["scenarios"][0]["client"]["error"]
    assert "1 passed, 0 failed" in out.getvalue()


def test_as_a_real_subprocess(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "run", "no-fault", "--", *CLIENT],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed, 0 failed" in completed.stdout
    bad = subprocess.run([sys.executable, "-m", "harness", "run", "nope", "--", "true"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
