"""Live progress of a batch: what is running, for how long, with how many attempts, and
how much is left, so that a long run is never silent.

Progress goes to stderr, so stdout stays the report alone (what the tutorials show and
scripts read). On a terminal (stdout and stderr both), a status area under the report's
lines is redrawn a few times a second: one line per running scenario (its elapsed time and
attempts so far) and an overall bar with an estimate of the time left. Otherwise (a CI
log, a pipe) nothing is redrawn: a line when a scenario starts, and a "still running" line
at a steady interval while any runs.

Hand-written rather than a library (rich, tqdm, enlighten): the status area is a few lines
of text and two ANSI sequences (cursor up, clear to the end), the log form is plain lines
that no progress library writes for us, and the harness installs into other projects'
test environments, where every dependency is a cost (docs/reports.md says more).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TextIO, cast

if TYPE_CHECKING:
    from harness.outcome import RunResult
    from harness.run import Run

Mode = Literal["terminal", "log", "off"]
CHOICES = ("auto", "terminal", "log", "off")
"""What ``--progress`` takes: ``auto`` is the terminal's status area when stdout and stderr
are both a terminal, else the log's lines."""

REDRAW_S = 0.25
"""How often a terminal's status area is redrawn."""
STILL_RUNNING_S = 3.0
"""How often a log gets a "still running" line while a scenario runs: well under 5 s, so a
loaded machine's late timer still keeps the log's silences under 5 s."""
_UP_AND_CLEAR = "\x1b[{n}F\x1b[J"  # to the start of the line n lines up, clear below
_BAR = 24


def mode_for(choice: str, out: TextIO, report: TextIO) -> Mode:
    """The mode ``--progress CHOICE`` means when progress goes to ``out`` and the report
    to ``report``: ``auto`` draws a status area only where both are the same terminal
    (the report's lines and the area then share the screen), and writes a log otherwise."""
    if choice == "auto":
        terminal = (_isatty(out) and _isatty(report)
                    and os.environ.get("TERM", "") not in ("dumb", ""))
        return "terminal" if terminal else "log"
    if choice not in ("terminal", "log", "off"):
        raise ValueError(f"progress mode {choice!r}: expected one of {', '.join(CHOICES)}")
    return choice  # type: ignore[return-value]  # one of the three, checked above


@dataclass
class _Running:
    started: float
    attempts: Callable[[], int]


class Progress:
    """Fed by a batch (:meth:`started`, :meth:`finished`); writes to ``out`` as a terminal
    (a redrawn status area), a log (plain lines), or not at all. :attr:`stream` is what the
    report writes its lines through (to ``report``, by default ``out``), so that on a
    terminal they land above the status area."""

    def __init__(self, total: int, out: TextIO, *, mode: Mode = "log",
                 report: TextIO | None = None, jobs: int = 1,
                 expected: Mapping[str, float] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.out = out
        self.report = out if report is None else report
        self.mode: Mode = mode
        self.jobs = max(1, jobs)
        self.expected = dict(expected or {})
        self.clock = clock
        self.began = clock()
        self.done = 0
        self.done_expected = 0.0
        self.done_actual = 0.0
        self.running: dict[str, _Running] = {}
        self.stream = self.report if mode == "off" else cast(TextIO, _Through(self))
        self._lock = threading.RLock()
        self._drawn = 0
        self._last_line = self.began
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="progress", daemon=True)

    @classmethod
    def choose(cls, choice: str, total: int, *, jobs: int = 1,
               expected: Mapping[str, float] | None = None) -> Progress:
        """Progress on stderr for a report on stdout, as ``--progress CHOICE`` asks."""
        return cls(total, sys.stderr, mode=mode_for(choice, sys.stderr, sys.stdout),
                   report=sys.stdout, jobs=jobs, expected=expected)

    @property
    def tty(self) -> bool:
        return self.mode == "terminal"

    def __enter__(self) -> Progress:
        if self.mode != "off":
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            self._clear()
            self.out.flush()

    # -- what the batch tells -----------------------------------------------------------

    def started(self, name: str, attempts: Callable[[], int]) -> None:
        with self._lock:
            self.running[name] = _Running(self.clock(), attempts)
            if self.mode == "log":
                self._line(f"start  {name}")
            elif self.mode == "terminal":
                self._redraw()

    def finished(self, name: str) -> None:
        with self._lock:
            running = self.running.pop(name, None)
            self.done += 1
            if running is not None and name in self.expected:
                self.done_expected += self.expected[name]
                self.done_actual += self.clock() - running.started
            if self.mode == "terminal" and not self._stop.is_set():
                self._redraw()

    def watch(self, run: Run) -> None:
        """A batch's or serve's ``on_start``: ``run`` is running, its attempts counted
        by its recorder (in constant time)."""
        recorder = run.recorder
        self.started(run.scenario.name, lambda: recorder.progress().attempts)

    def finishing(self, then: Callable[[RunResult], None]) -> Callable[[RunResult], None]:
        """A batch's ``on_result``: the scenario is done, then ``then`` (the console
        report's line) sees its result."""
        def on_result(result: RunResult) -> None:
            self.finished(result.scenario.name)
            then(result)
        return on_result

    # -- what is shown ------------------------------------------------------------------

    def status(self) -> list[str]:
        """The status area: one line per running scenario, then the overall bar."""
        now = self.clock()
        lines = [f"  running {name:<34} {now - r.started:6.1f}s  attempts {r.attempts()}"
                 for name, r in sorted(self.running.items(), key=lambda kv: kv[1].started)]
        filled = round(_BAR * self.done / self.total) if self.total else _BAR
        eta = self.eta_s(now)
        left = "" if eta is None else f", about {_clock(eta)} left"
        lines.append(f"  [{'#' * filled}{'.' * (_BAR - filled)}] {self.done}/{self.total}"
                     f" done, {len(self.running)} running, {_clock(now - self.began)}"
                     f" elapsed{left}")
        return lines

    def still_running(self) -> str:
        """The log's periodic line: every running scenario with its elapsed time and
        attempts."""
        now = self.clock()
        parts = [f"{name} ({now - r.started:.0f}s, {r.attempts()} attempt(s))"
                 for name, r in sorted(self.running.items(), key=lambda kv: kv[1].started)]
        return (f"still running after {_clock(now - self.began)}: {', '.join(parts)};"
                f" {self.done}/{self.total} done")

    def eta_s(self, now: float) -> float | None:
        """Time left: the expected durations of what has not finished, scaled by how the
        finished ones compared with theirs, shared among the jobs (never less than the
        longest running scenario still needs). None until something is known."""
        if not self.expected:
            return None
        pace = self.done_actual / self.done_expected if self.done_expected > 0 else 1.0
        started = set(self.running)
        waiting = sum(d for name, d in self.expected.items() if name not in started) - \
            self.done_expected
        running = [max(0.0, self.expected.get(name, 0.0) * pace - (now - r.started))
                   for name, r in self.running.items()]
        return max([max(0.0, waiting) * pace / self.jobs + sum(running) / self.jobs,
                    *running, 0.0])

    # -- drawing ------------------------------------------------------------------------

    def _tick(self) -> None:
        """Redraw the terminal's area; or, in a log, a "still running" line once
        :data:`STILL_RUNNING_S` passed since the last line while anything runs."""
        wait = REDRAW_S
        while not self._stop.wait(wait):
            with self._lock:
                if self.tty:
                    self._redraw()
                    continue
                wait = self._last_line + STILL_RUNNING_S - self.clock()
                if wait <= 0:
                    if self.running:
                        self._line(self.still_running())
                    wait = STILL_RUNNING_S

    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
        self._last_line = self.clock()

    def _clear(self) -> None:
        if self._drawn:
            self.out.write(_UP_AND_CLEAR.format(n=self._drawn))
            self._drawn = 0

    def _redraw(self) -> None:
        self._clear()
        width = _columns(self.out) - 1  # a full-width line would wrap on some terminals
        lines = [line[:width] for line in self.status()]
        self.out.write("\n".join(lines) + "\n")
        self._drawn = len(lines)
        self.out.flush()

    def write_through(self, text: str) -> None:
        """The report's own text, above the status area (which is drawn again after a
        whole line, until the batch is over)."""
        with self._lock:
            self._clear()
            self.out.flush()
            self.report.write(text)
            self.report.flush()
            if self.tty and text.endswith("\n") and not self._stop.is_set():
                self._redraw()


class _Through(io.TextIOBase):
    """A text stream for the report that writes above the status area."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress

    def write(self, text: str) -> int:
        self._progress.write_through(text)
        return len(text)

    def flush(self) -> None:
        # the report stream may have closed first: Python 3.13 flushes in __del__
        with contextlib.suppress(ValueError):
            self._progress.report.flush()

    def isatty(self) -> bool:
        return _isatty(self._progress.report)


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):  # not a terminal (or a test's StringIO)
        return 80
