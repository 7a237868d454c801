"""The console report: one line per scenario as it finishes, then what needs a look.

Every outcome has its own word (PASS, FAIL, NOT EXERCISED, INTERRUPTED), and a passed
scenario's line still says when a check was inconclusive or an advisory failed, so
nothing undecided hides behind a PASS.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Collection, Sequence
from typing import TextIO

from harness.outcome import RunResult, accepted, counts

_WORD = {"passed": "PASS", "failed": "FAIL", "not-exercised": "NOT EXERCISED",
         "interrupted": "INTERRUPTED"}


def notes(result: RunResult) -> str:
    """Inconclusive and advisory results of a scenario, counted, for its line."""
    results = result.verdict.results
    inconclusive = sum(r.status == "inconclusive" for r in results)
    advisory = sum(r.status == "failed" and r.level == "advisory" for r in results)
    parts = ([f"{inconclusive} inconclusive"] if inconclusive else []) + (
        [f"{advisory} advisory"] if advisory else [])
    return f" ({', '.join(parts)})" if parts else ""


def summary_line(result: RunResult) -> str:
    timeline = result.timeline
    client = ("stopped at limit" if result.client.timed_out
              else f"exit {result.client.exit_code}")
    return (f"{_WORD[result.outcome]} {result.scenario.name:<34}"
            f" attempts={len(timeline.attempts):<2} delivered={len(timeline.messages):<2}"
            f" client {client:<9} {result.duration_s:6.2f}s{notes(result)}")


def failure_report(result: RunResult) -> str:
    """Why a scenario failed or was not exercised, with evidence, readable without
    opening any code."""
    limit = (f"; time limit {result.time_limit_s:g} s ({result.time_limit_from})"
             if result.time_limit_s is not None else "")
    lines = [f"--- {result.scenario.name}: {result.scenario.about}",
             f"    {_WORD[result.outcome]}; seed {result.seed}{limit};"
             f" client: {result.client.error or 'ran'}"]
    lines += [f"    not exercised: {why}" for why in result.why if not result.interrupted]
    if result.outcome == "not-exercised":
        if not result.timeline.attempts:
            return "\n".join(lines)  # nothing happened: no check has anything to say
        lines.append("    checks (they say little: the situation never arose):")
    for failure in result.verdict.failures:
        lines.append(f"    {failure.level} {failure.name}: {failure.detail}")
        if failure.evidence:
            evidence = ", ".join(f"{k}={v}" for k, v in failure.evidence.items())
            lines.append(f"      evidence: {evidence}")
    for other in result.verdict.results:
        if other.status == "inconclusive" or (other.status == "failed" and not other.fails):
            word = "inconclusive" if other.status == "inconclusive" else "advisory"
            lines.append(f"    ({word}) {other.name}: {other.detail}")
    if result.verdict.fitted is not None:
        lines.append(f"    observed backoff: {result.verdict.fitted.describe()}")
    if result.timeline.bodies_not_kept:
        lines.append(f"    summarised: {result.timeline.bodies_not_kept} message bodies past the"
                     " memory budget kept as size and digest only")
    if result.timeline.folded:
        lines.append("    summarised: the reports count the uneventful attempts (a clean"
                     " delivery each) instead of listing them; the verdicts read them all")
    tail = (result.client.stderr or result.client.stdout).strip().splitlines()[-5:]
    if tail:
        lines.append("    client output (last lines):")
        lines += [f"      {line}" for line in tail]
    return "\n".join(lines)


def summary_counts(results: Sequence[RunResult],
                   accept_not_exercised: Collection[str] = ()) -> str:
    """``3 passed, 1 failed, 2 not exercised (1 accepted), 0 interrupted; 1 inconclusive``."""
    tally = counts(r.outcome for r in results)
    taken = sum(r.outcome == "not-exercised" and accepted(r.name, accept_not_exercised)
                for r in results)
    text = (f"{tally['passed']} passed, {tally['failed']} failed,"
            f" {tally['not-exercised']} not exercised"
            + (f" ({taken} accepted)" if taken else "")
            + (f", {tally['interrupted']} interrupted" if tally["interrupted"] else ""))
    inconclusive = sum(r.status == "inconclusive" for x in results for r in x.verdict.results)
    advisory = sum(r.status == "failed" and r.level == "advisory"
                   for x in results for r in x.verdict.results)
    extra = ([f"{inconclusive} inconclusive check(s)"] if inconclusive else []) + (
        [f"{advisory} advisory"] if advisory else [])
    return text + (f"; {', '.join(extra)}" if extra else "")


class ConsoleReporter:
    """Prints each result as it arrives (with a counter, so long runs show progress)
    and, at the end, every scenario that did not pass."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        self._done = 0
        self._lock = threading.Lock()

    def started(self, seed: int | None, calibration: str, backend: str = "") -> None:
        seed_text = "random per scenario" if seed is None else str(seed)
        via = f", {backend}" if backend else ""
        self._print(f"smtp-fault-harness: {self.total} scenario(s), seed {seed_text},"
                    f" timer noise {calibration}{via}")

    def finished(self, result: RunResult) -> None:
        with self._lock:
            self._done += 1
            width = len(str(self.total))
            self._print(f"[{self._done:>{width}}/{self.total}] {summary_line(result)}")

    def summary(self, results: Sequence[RunResult],
                accept_not_exercised: Collection[str] = ()) -> None:
        for result in results:
            if result.outcome != "passed" and result.outcome != "interrupted":
                self._print("\n" + failure_report(result))
        self._print("\n" + summary_counts(results, accept_not_exercised))

    def note(self, text: str) -> None:
        """A line of its own (where a report was written, say)."""
        self._print(text)

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
