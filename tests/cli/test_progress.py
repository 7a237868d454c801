"""Live progress: on a terminal, a status area with each running scenario (elapsed time,
attempts so far) and an overall bar with the time left; in a CI log, a line when a scenario
starts and a "still running" line at a steady interval; something new at least every 5 s
while a scenario runs, in both."""

from __future__ import annotations

import io
import re
import sys

import pytest

from harness.progress import Progress

SLOW_CLIENT = [sys.executable, "-c", "import socket, sys, time;"
               " s = socket.create_connection((sys.argv[1], int(sys.argv[2])));"
               " time.sleep(11)", "{host}", "{port}"]
"""Connects once, then sits for 11 s: a scenario that runs long with one attempt."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_status_area_shows_each_running_scenario_and_the_time_left() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress(4, out, tty=True, jobs=2, clock=clock,
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
    progress = Progress(2, out, tty=True, clock=Clock())
    progress.started("a", lambda: 0)
    progress.stream.write("[1/2] PASS z\n")
    text = out.getvalue()
    # the area is cleared (cursor up, clear below), the line written, the area redrawn
    assert "\x1b[2F\x1b[J[1/2] PASS z\n  running a" in text


def test_a_log_gets_a_start_line_and_still_running_lines() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress(3, out, tty=False, clock=clock)
    progress.started("never-answers", lambda: 2)
    clock.now += 12
    assert out.getvalue() == "start  never-answers\n"
    assert progress.still_running() == ("still running after 0:12: never-answers (12s,"
                                        " 2 attempt(s)); 0/3 done")
    assert "\x1b" not in out.getvalue()
