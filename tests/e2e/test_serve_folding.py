"""``harness serve`` over a run long enough to fold: real smtplib on loopback, the verdict
the same as on the unfolded timeline, the report listing what happened and counting the
clean deliveries it left out."""

from __future__ import annotations

import json
import smtplib
import socket
import threading
from pathlib import Path

import jsonschema
import pytest

import harness.timeline as timeline_module
from harness.outcome import RunResult
from harness.report import REPORT_SCHEMA
from harness.run import Run
from harness.serve import serve_scenario
from harness.timeline import Timeline
from harness.verdicts import judge

MESSAGES = 40
NEWSLETTER = f"""\
name: newsletter
about: "{MESSAGES} messages, a connection each, no fault: a long run in small."
messages: {MESSAGES}
server:
  tls: none
faults: []
expect:
  delivered: once
"""


def test_serve_folds_a_long_run_and_decides_as_on_the_full_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timeline_module, "PACK_AFTER", 60)  # about the fourth message
    monkeypatch.setattr(timeline_module, "FOLD_BATCH", 8)
    monkeypatch.setattr(timeline_module, "_FOLD_DELAY", 4)
    report, scenario_file = tmp_path / "serve.json", tmp_path / "newsletter.yaml"
    page = tmp_path / "serve.html"
    scenario_file.write_text(NEWSLETTER)
    started, results, codes = threading.Event(), [], []
    runs: list[Run] = []

    def on_start(run: Run) -> None:
        runs.append(run)
        started.set()

    server = threading.Thread(target=lambda: codes.append(serve_scenario(
        str(scenario_file), host="127.0.0.1", port=0, quiet_s=2, timeout_s=120, json_path=report,
        html_path=page,
        on_start=on_start, on_result=results.append)))
    server.start()
    assert started.wait(30)
    port = runs[0].target.port  # type: ignore[union-attr]
    for i in range(MESSAGES):
        message = f"Message-ID: <{i}@harness.test>\r\nSubject: {i}\r\n\r\nhello\r\n"
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        client.sendmail("a@harness.test", ["b@harness.test"], message)
        if i == MESSAGES // 2:
            client.sock.shutdown(socket.SHUT_RDWR)  # no QUIT: an eventful attempt
            client.close()
        else:
            client.quit()
    server.join(120)
    assert codes == [0]

    (result,) = results
    assert isinstance(result, RunResult)
    timeline = result.timeline
    assert timeline.folded > MESSAGES // 2  # most attempts were folded
    full = Timeline(timeline.origin_ns, tuple(timeline.attempts), tuple(timeline.messages),
                    timeline.bodies_not_kept)
    expect = runs[0].expect.build()
    again = judge(full, expect, calibration=result.verdict.calibration,
                  duration_s=result.duration_s, seed=result.seed, messages=MESSAGES)
    assert [r.to_dict() for r in again.results] == [
        r.to_dict() for r in result.verdict.results]
    assert result.passed

    data = json.loads(report.read_text())
    jsonschema.validate(data, REPORT_SCHEMA)
    (scenario,) = data["scenarios"]
    summary = scenario["summarised"]
    assert summary["attempts_not_listed"] == MESSAGES - 1
    assert summary["messages_not_listed"] == MESSAGES - 1
    (listed,) = scenario["attempts"]  # the one closed without QUIT
    assert listed["index"] == MESSAGES // 2 + 1 and listed["closed_by"] == "client-close"
    assert [m["message_id"] for m in scenario["messages"]] == [f"<{MESSAGES // 2}@harness.test>"]
    assert f"Summarised: {MESSAGES - 1} uneventful attempts" in page.read_text()
