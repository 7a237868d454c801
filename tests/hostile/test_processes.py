"""Clients that misbehave with their processes: descendants that leave the process group
with ``setsid``, hold the output pipes open, daemonise, flood the output; and the run
stopped from outside (an interrupt) or the harness killed outright. None may hang the
run, and no descendant may outlive it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from harness.clients import ClientResult, CommandClient, Target, stop_all_clients

TARGET = Target("127.0.0.1", 2525)
pytestmark = pytest.mark.timeout(60)  # each case ends in seconds; this only bounds a hang

# A grandchild that holds stdout and stderr open, sleeping; ``setsid`` leaves the group.
GRANDCHILD = "import os, sys, time; print(os.getpid(), flush=True); time.sleep(120)"


def client(body: str) -> list[str]:
    """A Python client whose source is ``body`` (with ``spawn`` and ``GRANDCHILD``)."""
    prelude = textwrap.dedent(f"""
        import os, subprocess, sys, time
        GRANDCHILD = {GRANDCHILD!r}
        def spawn(new_session):
            child = subprocess.Popen([sys.executable, "-c", GRANDCHILD],
                                     start_new_session=new_session, stdout=subprocess.PIPE)
            pid = child.stdout.readline().strip().decode()
            print("grandchild", pid, flush=True)
            return pid
    """)
    return [sys.executable, "-c", prelude + textwrap.dedent(body)]


def grandchildren(result: ClientResult) -> list[int]:
    return [int(line.split()[1]) for line in result.stdout.splitlines()
            if line.startswith("grandchild ")]


def gone(pid: int, timeout_s: float = 10.0) -> bool:
    """True once ``pid`` has exited (waiting on a pidfd: an event, not a poll)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout_s)[0])
    finally:
        os.close(fd)


def test_setsid_grandchild_with_open_pipes_ends_within_the_time_limit() -> None:
    # The client hangs, and its grandchild left the group holding the pipes: the time
    # limit still holds, and the grandchild is stopped with it.
    result = CommandClient(client("""
        spawn(new_session=True)
        sys.stdout.flush()
        time.sleep(120)
    """)).run(TARGET, timeout_s=1.0)
    assert result.timed_out and result.exit_code is None
    assert result.error == "stopped after the 1s time limit"
    (pid,) = grandchildren(result)
    assert gone(pid, timeout_s=0.0)  # stopped before run() returned


@pytest.mark.parametrize("new_session", [False, True], ids=["same-group", "setsid"])
def test_client_exit_decides_finished_not_the_pipes(new_session: bool) -> None:
    # The client exits at once; its grandchild keeps the pipes open. The run is over
    # when the client exits: exit code kept, not a time-out, the grandchild stopped.
    result = CommandClient(client(f"""
        spawn(new_session={new_session})
        sys.exit(4)
    """)).run(TARGET, timeout_s=30.0)
    assert (result.exit_code, result.timed_out, result.error) == (4, False, None)
    assert result.duration_s < 30.0
    (pid,) = grandchildren(result)
    assert gone(pid, timeout_s=0.0)


def test_a_daemon_that_double_forks_is_stopped() -> None:
    # The classic daemon: fork, setsid, fork again, the middle one exits, so the daemon
    # is an orphan. The keeper, as subreaper, inherits it and stops it.
    result = CommandClient(client("""
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                print("grandchild", os.getpid(), flush=True)
                time.sleep(120)
            os._exit(0)
        os.wait()
        time.sleep(0.0)
    """)).run(TARGET, timeout_s=30.0)
    assert (result.exit_code, result.timed_out) == (0, False)
    (pid,) = grandchildren(result)
    assert gone(pid, timeout_s=0.0)


def test_a_flood_of_output_is_kept_bounded() -> None:
    result = CommandClient(client("""
        chunk = "x" * 65536
        for _ in range(320):  # 20 MiB
            sys.stdout.write(chunk)
    """)).run(TARGET, timeout_s=30.0)
    assert result.exit_code == 0
    assert len(result.stdout) < 2 * 1024 * 1024
    assert "more bytes of output not kept" in result.stdout


def test_stop_all_clients_stops_every_tree_at_once(tmp_path: Path) -> None:
    fifos = [tmp_path / f"ready-{n}" for n in range(2)]
    results: list[ClientResult] = []

    for fifo in fifos:
        os.mkfifo(fifo)

    def run_one(fifo: Path) -> None:
        results.append(CommandClient(client(f"""
            pid = spawn(new_session=True)
            with open({str(fifo)!r}, "w") as ready:
                ready.write(pid + "\\n")
            time.sleep(120)
        """)).run(TARGET, timeout_s=60.0))

    threads = [threading.Thread(target=run_one, args=(fifo,)) for fifo in fifos]
    try:
        for thread in threads:
            thread.start()
        pids = []
        for fifo in fifos:  # both clients and their grandchildren are up
            with open(fifo) as ready:
                pids.append(int(ready.readline()))
    finally:
        assert stop_all_clients() == 2
    assert all(gone(pid, timeout_s=0.0) for pid in pids)
    for thread in threads:
        thread.join(10)
    assert len(results) == 2
    assert all(r.exit_code is None and not r.timed_out for r in results)
    assert {r.error for r in results} == {"stopped: the run was interrupted"}
    assert stop_all_clients() == 0


def test_no_descendant_outlives_a_harness_killed_outright(tmp_path: Path) -> None:
    # SIGKILL leaves the harness no chance to clean up: the keeper notices its parent
    # died (PR_SET_PDEATHSIG) and stops the client's tree itself.
    fifo = tmp_path / "ready"
    os.mkfifo(fifo)
    body = f"""
        pid = spawn(new_session=True)
        with open({str(fifo)!r}, "w") as ready:
            ready.write(pid + "\\n")
        time.sleep(120)
    """
    harness = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from harness.clients import CommandClient, Target
        CommandClient({client(body)!r}).run(Target("127.0.0.1", 1), timeout_s=120)
    """)])
    try:
        with open(fifo) as ready:
            pid = int(ready.readline())
    finally:
        harness.send_signal(signal.SIGKILL)
        harness.wait()
    assert gone(pid)


def test_a_client_that_is_not_a_program_is_still_a_clear_error(tmp_path: Path) -> None:
    script = tmp_path / "send"
    script.write_text("#!/bin/sh\nexit 0\n")  # not executable
    from harness.errors import ClientError

    with pytest.raises(ClientError, match="not executable"):
        CommandClient([str(script)]).run(TARGET, timeout_s=5)
