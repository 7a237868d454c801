"""Ctrl-C and SIGTERM during a run: every client stopped, every report written, no process
left behind, and the exit code says which signal it was.

The harness runs as a real subprocess; its client connects, writes its process id to a
folder, and sleeps, so the signal always lands while scenarios are running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SLEEPER = ("import os,socket,sys,time; s=socket.create_connection((sys.argv[1], int(sys.argv[2])));"
           " open(os.path.join(sys.argv[3], str(os.getpid())), 'w').close(); time.sleep(120)")


def _start(tmp_path: Path) -> subprocess.Popen[str]:
    pids = tmp_path / "pids"
    pids.mkdir()
    argv = [sys.executable, "-m", "harness", "run", "no-fault", "mail-450", "rcpt-451",
            "-j", "2", "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"),
            "--html", str(tmp_path / "r.html"), "--",
            sys.executable, "-c", SLEEPER, "{host}", "{port}", str(pids)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while len(list(pids.iterdir())) < 2:  # both running scenarios' clients connected
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    return process


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_clients_writes_reports_and_exits_with_its_code(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    process = _start(tmp_path)
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, (out, err)
    assert "Traceback" not in err
    scenarios = json.loads((tmp_path / "r.json").read_text())["scenarios"]
    assert [s["outcome"] for s in scenarios] == ["interrupted"] * 3
    assert scenarios[2]["why_not_exercised"] == ["not started: the run was interrupted"]
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "3"
    assert "interrupted" in (tmp_path / "r.html").read_text()
    assert "0 passed, 0 failed, 0 not exercised, 3 interrupted" in out
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert pids and not any(_alive(pid) for pid in pids)


def test_a_second_ctrl_c_exits_at_once_and_still_leaves_no_client(tmp_path: Path) -> None:
    process = _start(tmp_path)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    deadline = time.monotonic() + 10  # the keeper's SIGKILL lands within its grace
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)
