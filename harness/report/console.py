"""The console report: one line per scenario as it finishes, then the failures in full."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from harness.run import RunResult


def summary_line(result: RunResult) -> str:
    timeline = result.timeline
    status = "PASS" if result.passed else "FAIL"
    exit_code = "timed out" if result.client.timed_out else f"exit {result.client.exit_code}"
    return (f"{status} {result.scenario.name:<34} attempts={len(timeline.attempts):<2}"
            f" delivered={len(timeline.messages):<2} client {exit_code:<9}"
            f" {result.duration_s:6.2f}s")


def failure_report(result: RunResult) -> str:
    """Why a scenario failed, with evidence, readable without opening any code."""
    lines = [f"--- {result.scenario.name}: {result.scenario.about}",
             f"    seed {result.seed}; client: {result.client.error or 'ran'}"]
    for failure in result.verdict.failures:
        lines.append(f"    {failure.level} {failure.name}: {failure.detail}")
        if failure.evidence:
            evidence = ", ".join(f"{k}={v}" for k, v in failure.evidence.items())
            lines.append(f"      evidence: {evidence}")
    if result.verdict.fitted is not None:
        lines.append(f"    observed backoff: {result.verdict.fitted.describe()}")
    tail = (result.client.stderr or result.client.stdout).strip().splitlines()[-5:]
    if tail:
        lines.append("    client output (last lines):")
        lines += [f"      {line}" for line in tail]
    return "\n".join(lines)


class ConsoleReporter:
    """Prints each result as it arrives (with a counter, so long runs show progress)
    and the failures at the end."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        self._done = 0
        self._lock = threading.Lock()

    def started(self, seed: int | None, calibration: str) -> None:
        seed_text = "random per scenario" if seed is None else str(seed)
        self._print(f"smtp-fault-harness: {self.total} scenario(s), seed {seed_text},"
                    f" timer noise {calibration}")

    def finished(self, result: RunResult) -> None:
        with self._lock:
            self._done += 1
            width = len(str(self.total))
            self._print(f"[{self._done:>{width}}/{self.total}] {summary_line(result)}")

    def summary(self, results: Sequence[RunResult]) -> None:
        failed = [r for r in results if not r.passed]
        for result in failed:
            self._print("\n" + failure_report(result))
        passed = len(results) - len(failed)
        self._print(f"\n{passed} passed, {len(failed)} failed")

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
