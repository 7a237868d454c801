"""The keeper of one client's process tree, run as ``python -I -S _reaper.py FD ARGV...``.

It starts the client as its own child and makes itself the *child subreaper* of
everything below (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``): a descendant that
daemonises, even one that calls ``setsid`` to leave the process group, is reparented
here instead of to init, so it can still be found and stopped. When the client exits,
or the harness asks (SIGTERM, or the harness itself dies: ``PR_SET_PDEATHSIG``),
every descendant left is killed and reaped, then it exits.

It reports on file descriptor ``FD``, one line each: ``started <monotonic>``, then
``exit <returncode> <monotonic>`` (a negative code is a signal), or ``error notfound``
/ ``error noexec`` when the client cannot be started. Standard library only, so it
starts in a few tens of milliseconds in isolated mode.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 1.0  # between SIGTERM and SIGKILL when the harness stops the client
KILL_ROUNDS = 200  # bounded: each round kills every descendant found, then looks again


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave the wait for the client."""


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False  # not Linux: the process group is all there is


def _descendants(root: int) -> list[int]:
    """Live (not zombie) processes below ``root``, from ``/proc``; empty without it."""
    children: dict[int, list[int]] = {}
    zombies: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        if fields[0] in (b"Z", b"X"):
            zombies.add(pid)
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child)
    return [pid for pid in found if pid not in zombies]


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def _signal_all(sig: int, client: int) -> list[int]:
    alive = _descendants(os.getpid())
    with contextlib.suppress(OSError):
        os.killpg(client, sig)  # the group too, where /proc is missing
    for pid in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
    return alive


def _kill_everything(client: int) -> None:
    """SIGKILL every descendant until none is left (new ones from a fork race are
    reparented here and found in the next round)."""
    for _ in range(KILL_ROUNDS):
        alive = _signal_all(signal.SIGKILL, client)
        _reap()
        if not alive:
            return
        time.sleep(0.005)
    _reap()


def main(argv: list[str]) -> int:
    status = os.fdopen(int(argv[0]), "w", buffering=1)
    command = argv[1:]
    stopping: list[int] = []
    waiting = False

    def on_term(signum: int, frame: object) -> None:
        stopping.append(signum)
        if waiting:
            raise _Stop

    signal.signal(signal.SIGTERM, on_term)
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the harness died before the line above
        return 1
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        client = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        status.write("error notfound\n")
        return 127
    except PermissionError:
        status.write("error noexec\n")
        return 126
    status.write(f"started {time.monotonic()!r}\n")
    code: int | None = None
    try:
        waiting = True
        if stopping:  # asked to stop while the client was starting
            raise _Stop
        code = client.wait()
    except _Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _signal_all(signal.SIGTERM, client.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = client.wait(GRACE_S)
    waiting = False
    ended = time.monotonic()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _kill_everything(client.pid)
    if code is None:
        code = client.wait()
    status.write(f"exit {code} {ended!r}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
