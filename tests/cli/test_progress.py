"""Live progress: on a terminal, a status area with each running scenario (elapsed time,
attempts so far) and an overall bar with the time left; in a CI log, a line when a scenario
starts and a "still running" line at a steady interval; something new at least every 5 s
while a scenario runs, in both."""

from __future__ import annotations

import contextlib
import fcntl
import io
import itertools
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_status_area_shows_each_running_scenario_and_the_time_left() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress(4, out, mode="terminal", jobs=2, clock=clock,
                        expected={"a": 10.0, "b": 10.0, "c": 10.0, "d": 30.0})
    attempts = {"a": 1, "b": 3}
    progress.started("a", lambda: attempts["a"])
    progress.started("b", lambda: attempts["b"])
    clock.now += 5
    lines = progress.status()
    assert re.fullmatch(r"  running a +5\.0s  attempts 1", lines[0])
    assert re.fullmatch(r"  running b +5\.0s  attempts 3", lines[1])
    # c and d not started (40 s), a and b 5 s to go each: (40 + 10) / 2 jobs
    assert lines[2].endswith("0/4 done, 2 running, 0:05 elapsed, about 0:25 left")
    clock.now += 15  # a took twice as long as expected: the estimate follows
    progress.finished("a")
    assert progress.eta_s(clock.now) == pytest.approx((40 * 2 + 0) / 2)
    assert progress.status()[-1].startswith("  [######..................] 1/4 done, 1 running")


def test_report_lines_land_above_the_status_area() -> None:
    out = io.StringIO()
    progress = Progress(2, out, mode="terminal", clock=Clock())
    progress.started("a", lambda: 0)
    progress.stream.write("[1/2] PASS z\n")
    text = out.getvalue()
    # the area is cleared (cursor up, clear below), the line written, the area redrawn
    assert "\x1b[2F\x1b[J[1/2] PASS z\n  running a" in text


def test_a_log_gets_a_start_line_and_still_running_lines() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress(3, out, mode="log", clock=clock)
    progress.started("never-answers", lambda: 2)
    clock.now += 12
    assert out.getvalue() == "start  never-answers\n"
    assert progress.still_running() == ("still running after 0:12: never-answers (12s,"
                                        " 2 attempt(s)); 0/3 done")
    assert "\x1b" not in out.getvalue()


# -- real runs: a slow scenario in a terminal (a pty) and in a CI log (pipes) -------------

GAP_S = 5.0
"""The longest the output may stay silent while a scenario runs: the log's interval is
STILL_RUNNING_S (3 s) and the terminal's is REDRAW_S, so a late timer on a loaded machine
has seconds to spare."""

SITS = [sys.executable, "-c", "import socket, sys;"
        " smtp = socket.create_connection((sys.argv[1], int(sys.argv[2])));"
        " socket.create_connection(('127.0.0.1', int(sys.argv[3]))).recv(1)",
        "{host}", "{port}"]
"""Connects to the server, then sits until the test closes its control connection (the
port after the client's other arguments): a scenario that runs as long as the test wants."""


class Output:
    """Everything a process writes to one file descriptor, as (time read, bytes) chunks;
    :meth:`wait_for` waits (bounded) until the text so far matches."""

    def __init__(self, fd: int) -> None:
        self.chunks: list[tuple[float, bytes]] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:  # a pty's reader gets EIO once the last writer closed
                data = b""
            with self._changed:
                if data:
                    self.chunks.append((time.monotonic(), data))
                self._changed.notify_all()
            if not data:
                return

    @property
    def text(self) -> str:
        return b"".join(data for _, data in self.chunks).decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := re.search(pattern, self.text)) is None:
                left = deadline - time.monotonic()
                assert left > 0 and self._thread.is_alive(), f"no {pattern!r} in:\n{self.text}"
                self._changed.wait(left)
        return found

    def close(self, timeout: float = 60.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive()

    def first_time_of(self, pattern: str) -> float:
        """When the text read so far first matched ``pattern`` (even across chunks)."""
        text = b""
        for t, data in self.chunks:
            text += data
            if re.search(pattern, text.decode(errors="replace")):
                return t
        raise AssertionError(f"no {pattern!r} in:\n{self.text}")

    def times_of(self, pattern: str) -> list[float]:
        """When each chunk that matches ``pattern`` (by itself) was read."""
        return [t for t, data in self.chunks if re.search(pattern, data.decode(errors="replace"))]


def screen(text: str) -> list[str]:
    """The lines a terminal shows after ``text``, given the sequences the status area uses:
    ESC[nF (to the start of the line n lines up) and ESC[J (clear to the end)."""
    lines, row, col = [""], 0, 0
    for token in re.split(r"(\x1b\[\d*[FJ]|\r|\n)", text):
        if token == "\r":
            col = 0
        elif token == "\n":
            row += 1
            lines += [""] * (row + 1 - len(lines))
        elif token.startswith("\x1b[") and token.endswith("F"):
            row, col = max(0, row - int(token[2:-1] or 1)), 0
        elif token == "\x1b[J":
            del lines[row + 1:]
            lines[row] = lines[row][:col]
        elif token:
            assert "\x1b" not in token, f"a sequence the status area does not use: {token!r}"
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token):]
            col += len(token)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.fixture
def control() -> Iterator[socket.socket]:
    """The test's end of the slow client's control connection; closing it ends the client."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(60)
        yield listener


def slow_run(tmp_path: Path, listener: socket.socket, *options: str) -> list[str]:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text("name: slow\nabout: The client connects and sits.\n")
    return [sys.executable, "-m", "harness", "run", str(scenario), "--seed", "1", *options,
            "--", *SITS, str(listener.getsockname()[1])]


@contextlib.contextmanager
def on_a_terminal(argv: list[str], cwd: Path) -> Iterator[tuple[subprocess.Popen[bytes],
                                                                Output]]:
    """``argv`` with a pty as its stdout and stderr; all it wrote is read once it ends."""
    main_fd, terminal = pty.openpty()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=terminal,
                               stderr=terminal, cwd=cwd, env={**os.environ, "TERM": "xterm"})
    os.close(terminal)
    output = Output(main_fd)
    try:
        yield process, output
        output.close()
    finally:
        process.kill()
        process.wait()
        os.close(main_fd)


@pytest.mark.slow
def test_a_terminal_shows_the_running_scenario_at_least_every_5_s(
        tmp_path: Path, control: socket.socket) -> None:
    with on_a_terminal(slow_run(tmp_path, control), tmp_path) as (process, output):
        with control.accept()[0]:  # the client connected to the server, then to the test
            output.wait_for(r"running slow +\d+\.\ds  attempts 1")
            output.wait_for(r"running slow +([6-9]|\d\d+)\.\ds")  # runs on for 6 s and more
        assert process.wait(60) == 0  # the scenario expects nothing in particular
    shown = output.times_of(r"running slow")
    ended = output.first_time_of(r"\[1/1\]")
    assert max(gaps([*shown, ended])) < GAP_S, gaps([*shown, ended])
    elapsed = [float(s) for s in re.findall(r"running slow +(\d+\.\d)s", output.text)]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 6.0
    assert "0/1 done, 1 running" in output.text
    # when the run is over the area is gone: the screen shows the report alone
    shown_last = screen(output.text)
    assert shown_last[0].startswith("smtp-fault-harness: 1 scenario(s)")
    assert shown_last[1].startswith("[1/1] PASS slow")
    assert shown_last[-1] == "1 passed, 0 failed, 0 not exercised"
    assert not [line for line in shown_last if "running" in line]


@pytest.mark.slow
def test_ctrl_c_on_a_terminal_leaves_the_report_and_no_status_area(
        tmp_path: Path, control: socket.socket) -> None:
    with on_a_terminal(slow_run(tmp_path, control), tmp_path) as (process, output), \
            control.accept()[0]:
        output.wait_for(r"running slow +\d+\.\ds  attempts 1")
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130
    shown = screen(output.text)
    assert shown[1].startswith("[1/1] INTERRUPTED slow"), shown
    assert shown[-1].startswith("0 passed, 0 failed, 0 not exercised, 1 interrupted"), shown
    assert not [line for line in shown if "running" in line or " done, " in line]


@pytest.mark.slow
def test_a_ci_log_gets_a_line_at_least_every_5_s_and_stdout_stays_the_report(
        tmp_path: Path, control: socket.socket) -> None:
    process = subprocess.Popen(slow_run(tmp_path, control), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert process.stdout is not None and process.stderr is not None
    out, log = Output(process.stdout.fileno()), Output(process.stderr.fileno())
    try:
        with control.accept()[0]:
            log.wait_for(r"(still running .*\n){2}")
        assert process.wait(60) == 0
        out.close()
        log.close()
    finally:
        process.kill()
        process.stdout.close()
        process.stderr.close()
    lines = log.text.splitlines()
    assert lines[0] == "start  slow"
    running = [re.fullmatch(r"still running after 0:\d\d: slow \((\d+)s, 1 attempt\(s\)\);"
                            r" 0/1 done", line) for line in lines[1:]]
    assert all(running) and len(running) >= 2, lines
    ended = out.first_time_of(r"\[1/1\]")
    logged = [t for t, data in log.chunks for _ in data.decode().splitlines()]
    assert max(gaps([*logged, ended])) < GAP_S, gaps([*logged, ended])
    report = out.text
    assert report.startswith("smtp-fault-harness: 1 scenario(s)") and "[1/1] PASS slow" in report
    assert "still running" not in report and "start " not in report and "\x1b" not in report


def test_off_writes_nothing_and_a_pipe_gets_no_status_area(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    scenario = tmp_path / "quick.yaml"
    scenario.write_text("name: quick\n")
    assert main(["run", str(scenario), "--progress", "off", "--", "true"]) == 4
    captured = capsys.readouterr()
    assert captured.err == "" and "[1/1] NOT EXERCISED quick" in captured.out
    assert main(["run", str(scenario), "--", "true"]) == 4  # auto, and not a terminal
    captured = capsys.readouterr()
    assert captured.err == "start  quick\n" and "\x1b" not in captured.out


@pytest.mark.slow
def test_the_demo_on_a_terminal_ends_with_its_report_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four scenarios two at a time on a 100-column terminal: the status area never wraps,
    and once the demo is over the screen holds the report, every line whole."""
    import harness.batch
    from harness.cli import main

    monkeypatch.setattr(harness.batch, "builtin_names",
                        lambda: ["no-fault", "mail-421", "greylist", "banner-421-throttle"])
    monkeypatch.setenv("TERM", "xterm")
    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    output = Output(main_fd)
    try:
        with os.fdopen(os.dup(terminal), "w") as stdout, \
                os.fdopen(os.dup(terminal), "w") as stderr:
            monkeypatch.setattr(sys, "stdout", stdout)
            monkeypatch.setattr(sys, "stderr", stderr)
            code = main(["demo", "--seed", "1", "-j", "2", "--html", str(tmp_path / "d.html")])
            monkeypatch.undo()
        os.close(terminal)
        output.close()
    finally:
        os.close(main_fd)
    assert code == 0, output.text
    status = [line for line in re.split(r"\r?\n|\x1b\[\d*[FJ]", output.text)
              if line.startswith("  running ") or " done, " in line]
    assert any(line.startswith("  running ") for line in status)
    assert all(len(line) < 100 for line in status), max(status, key=len)
    shown = screen(output.text)
    assert shown[0].startswith("smtp-fault-harness: 4 scenario(s), seed 1")
    assert [line[:6] for line in shown[1:5]] == ["[1/4] ", "[2/4] ", "[3/4] ", "[4/4] "]
    assert all(re.match(r"\[\d/4\] PASS \S+ +attempts=\d+ +delivered=1 ", line)
               for line in shown[1:5]), shown
    assert any(line.startswith("4 passed, 0 failed, 0 not exercised") for line in shown), shown
    assert not [line for line in shown if "running" in line or " done, " in line]
