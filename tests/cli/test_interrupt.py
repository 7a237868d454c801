"""Ctrl-C and SIGTERM during a run: every client stopped, every report written, no process
left behind, and the exit code says which signal it was.

The harness runs as a real subprocess; its client connects, writes its process id to a
folder, and sleeps, so the signal always lands while scenarios are running. Over the whole
catalogue, the first clients exit at once, so the reports hold finished scenarios beside
interrupted ones.
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

from harness.model.builtin_scenarios import builtin_names

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


QUICK = 4
"""How many of the catalogue run's clients exit at once (their scenarios finish)."""
SOME_QUICK = f"""
import os, socket, sys, time
host, port, slots, pids = sys.argv[1:5]
socket.create_connection((host, int(port)))
slot = 0
while True:  # take the first free slot: the first {QUICK} exit at once, the others sleep
    try:
        os.close(os.open(os.path.join(slots, str(slot)), os.O_CREAT | os.O_EXCL))
        break
    except FileExistsError:
        slot += 1
if slot >= {QUICK}:
    open(os.path.join(pids, str(os.getpid())), "w").close()
    time.sleep(120)
"""


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


def test_an_interrupted_catalogue_run_keeps_what_finished_and_leaves_no_process(
    tmp_path: Path,
) -> None:
    """The whole catalogue, two at a time: the first four clients exit at once, the next
    two connect and sleep. A worker takes a scenario only once its last one is judged, so
    when both sleepers are up, exactly four scenarios have finished; Ctrl-C then."""
    slots, pids = tmp_path / "slots", tmp_path / "pids"
    slots.mkdir()
    pids.mkdir()
    argv = [sys.executable, "-m", "harness", "run", "-j", "2", "--json", str(tmp_path / "r.json"),
            "--junit", str(tmp_path / "r.xml"), "--html", str(tmp_path / "r.html"), "--",
            sys.executable, "-c", SOME_QUICK, "{host}", "{port}", str(slots), str(pids)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while len(list(pids.iterdir())) < 2:  # both workers' clients asleep
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err
    names = builtin_names()
    scenarios = json.loads((tmp_path / "r.json").read_text())["scenarios"]
    assert [s["scenario"] for s in scenarios] == names
    outcomes = [s["outcome"] for s in scenarios]
    assert "interrupted" not in outcomes[:QUICK], outcomes
    assert outcomes[QUICK:] == ["interrupted"] * (len(names) - QUICK)
    finished = {o: outcomes.count(o) for o in ("passed", "failed", "not-exercised")}
    cases = ET.parse(tmp_path / "r.xml").getroot().findall(".//testcase")
    assert [case.get("name") for case in cases] == names
    html = (tmp_path / "r.html").read_text()
    assert all(name in html for name in names)
    assert (f"{finished['passed']} passed, {finished['failed']} failed,"
            f" {finished['not-exercised']} not exercised, {len(names) - QUICK} interrupted") in out
    # the quick clients' slots are taken (and they exited); the sleepers were stopped
    assert len(list(slots.iterdir())) == QUICK + 2
    asleep = [int(p.name) for p in pids.iterdir()]
    assert len(asleep) == 2 and not any(_alive(pid) for pid in asleep)
