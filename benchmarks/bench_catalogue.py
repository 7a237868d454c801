"""The whole built-in catalogue against the bundled client: wall time with -j 1 and -j 8
against the floor, the time the scenarios themselves make the client wait.

    python -m benchmarks.bench_catalogue            # -j 1 and -j 8, about 3 minutes
    python -m benchmarks.bench_catalogue --jobs 8   # one setting only

The floor of one scenario is the span of its timeline, from the first connection to the
last close: the delays, greylisting windows, timeouts and backoff sleeps that any harness
would have to sit through with this client. Their sum is the floor of a sequential run;
the longest one bounds a parallel run from below. What the harness adds on top is process
start-up of the client, server and proxy set-up, and the settling of connections.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from benchmarks._figures import Figure
from harness.batch import resolve, run_batch
from harness.examples.client import DEMO_COMMAND
from harness.outcome import RunResult
from harness.verdicts import calibrate


def span_s(result: RunResult) -> float:
    attempts = result.timeline.attempts
    if not attempts:
        return 0.0
    end = max(a.end_ns or a.start_ns for a in attempts)
    return (end - attempts[0].start_ns) / 1e9


def measure(jobs: int) -> tuple[float, list[RunResult]]:
    scenarios = resolve([])
    calibration = calibrate()
    started = time.monotonic()
    results = run_batch(scenarios, DEMO_COMMAND, jobs=jobs, calibration=calibration)
    return time.monotonic() - started, results


def figures(quick: bool = False) -> list[Figure]:
    """Catalogue wall time against its floor, for ``python -m benchmarks``."""
    found = []
    for jobs in ([8] if quick else [1, 8]):
        wall, results = measure(jobs)
        spans = [span_s(r) for r in results]
        floor = sum(spans) if jobs == 1 else max(sum(spans) / jobs, max(spans))
        found.append(Figure(
            "catalogue", f"{len(results)} scenarios, -j {jobs} ({sum(r.passed for r in results)}"
            " passed)", f"{wall:.1f} s", f"{floor:.1f} s floor", wall / floor,
        ))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_catalogue")
    parser.add_argument("--jobs", type=int, action="append", help="default: 1 and 8")
    args = parser.parse_args(argv)
    rows = []
    for jobs in args.jobs or [1, 8]:
        wall, results = measure(jobs)
        spans = [span_s(r) for r in results]
        floor = sum(spans) if jobs == 1 else max(sum(spans) / jobs, max(spans))
        passed = sum(r.passed for r in results)
        rows.append((jobs, len(results), passed, wall, sum(spans), max(spans), floor))
    print(f"{'jobs':>4} {'scenarios':>9} {'passed':>6} {'wall s':>8} {'sum of spans s':>14}"
          f" {'longest s':>9} {'floor s':>8} {'wall/floor':>10}")
    for jobs, count, passed, wall, total, longest, floor in rows:
        print(f"{jobs:>4} {count:>9} {passed:>6} {wall:>8.1f} {total:>14.1f} {longest:>9.1f}"
              f" {floor:>8.1f} {wall / floor:>10.2f}")
    print("\nfloor: -j 1, the sum of the scenarios' spans; -j N, the larger of that sum / N"
          " and the longest span.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
