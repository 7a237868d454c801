"""Live progress of a batch: what is running, for how long, with how many attempts, and
how much is left, so that a long run is never silent.

On a terminal, a status area under the report's lines is redrawn a few times a second:
one line per running scenario (its elapsed time and attempts so far) and an overall bar
with an estimate of the time left. In a CI log (not a terminal) nothing is redrawn: a line
when a scenario starts, and a "still running" line at a steady interval while any runs.

Hand-written rather than a library (rich, tqdm, enlighten): the status area is a few lines
of text and two ANSI sequences (cursor up, clear to the end), the log form is plain lines
that no progress library writes for us, and the harness installs into other projects'
test environments, where every dependency is a cost (docs/progress.md says more).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

REDRAW_S = 0.25
"""How often a terminal's status area is redrawn."""
STILL_RUNNING_S = 4.0
"""How often a CI log gets a "still running" line while a scenario runs: under 5 s, with
room for a loaded machine's late timers."""
_UP_AND_CLEAR = "\x1b[{n}F\x1b[J"  # to the start of the line n lines up, clear below
_BAR = 24


@dataclass
class _Running:
    started: float
    attempts: Callable[[], int]


class Progress:
    """Fed by a batch (:meth:`started`, :meth:`finished`); writes to ``stream`` as a
    terminal or a log. :attr:`stream` is what the report writes its lines through, so they
    land above the status area."""

    def __init__(self, total: int, stream: TextIO, *, tty: bool | None = None,
                 jobs: int = 1, expected: Mapping[str, float] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.out = stream
        self.tty = stream.isatty() if tty is None else tty
        self.jobs = max(1, jobs)
        self.expected = dict(expected or {})
        self.clock = clock
        self.began = clock()
        self.done = 0
        self.done_expected = 0.0
        self.done_actual = 0.0
        self.running: dict[str, _Running] = {}
        self.stream = _Through(self)
        self._lock = threading.RLock()
        self._drawn = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="progress", daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._clear()

    # -- what the batch tells -----------------------------------------------------------

    def started(self, name: str, attempts: Callable[[], int]) -> None:
        with self._lock:
            self.running[name] = _Running(self.clock(), attempts)
            if not self.tty:
                self._line(f"start  {name}")
            else:
                self._redraw()

    def finished(self, name: str) -> None:
        with self._lock:
            running = self.running.pop(name, None)
            self.done += 1
            if running is not None and name in self.expected:
                self.done_expected += self.expected[name]
                self.done_actual += self.clock() - running.started
            if self.tty:
                self._redraw()

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
        interval = REDRAW_S if self.tty else STILL_RUNNING_S
        while not self._stop.wait(interval):
            with self._lock:
                if self.tty:
                    self._redraw()
                elif self.running:
                    self._line(self.still_running())

    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _clear(self) -> None:
        if self._drawn:
            self.out.write(_UP_AND_CLEAR.format(n=self._drawn))
            self._drawn = 0

    def _redraw(self) -> None:
        self._clear()
        lines = self.status()
        self.out.write("\n".join(lines) + "\n")
        self._drawn = len(lines)
        self.out.flush()

    def write_through(self, text: str) -> None:
        """The report's own text, above the status area."""
        with self._lock:
            self._clear()
            self.out.write(text)
            if self.tty and text.endswith("\n"):
                self._redraw()
            self.out.flush()


class _Through:
    """A text stream for the report that writes above the status area."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def write(self, text: str) -> int:
        self._progress.write_through(text)
        return len(text)

    def flush(self) -> None:
        self._progress.out.flush()

    def isatty(self) -> bool:
        return self._progress.tty


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
