"""The herd scenario end to end: a fleet of 20 processes of the bundled client passes
``herd-outage`` and 20 processes of a client without jitter fail it, run after run.

    python -m benchmarks.bench_fleet             # 20 runs each way
    python -m benchmarks.bench_fleet --runs 3    # a smoke run

Each run starts the scenario's 20 clients as commands, as ``harness run`` does, against
its own server; the ``herd-disperses`` result of every run is counted (passed, failed,
inconclusive), and a run whose whole verdict went the other way is printed. The
simulated false-fail rate of the statistic is ``benchmarks.bench_herd``'s.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence

from harness.clients import CommandClient
from harness.examples.client import DEMO_COMMAND
from harness.model import load_scenario
from harness.run import Run

SCENARIO = "herd-outage"
FLEETS = {
    "bundled client (full jitter)": list(DEMO_COMMAND),
    "no_jitter (tests/clients)": [sys.executable, "-m", "tests.clients.no_jitter",
                                  "--host", "{host}", "--port", "{port}"],
}


def run_once(command: Sequence[str], seed: int) -> tuple[str, bool, str]:
    """(herd-disperses status, verdict passed, the check's detail) of one run."""
    with Run(load_scenario(SCENARIO), seed=seed) as run:
        run.run_client(CommandClient(list(command)))
    result = run.verdict.result("herd-disperses")
    return result.status, run.verdict.passed and not run.result.why, result.detail


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_fleet",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    print("| fleet (20 processes) | runs | herd-disperses passed | failed | inconclusive |"
          " scenario passed |")
    print("|---|---|---|---|---|---|")
    for name, command in FLEETS.items():
        counts: Counter[str] = Counter()
        passed = 0
        for seed in range(1, args.runs + 1):
            status, ok, detail = run_once(command, seed)
            counts[status] += 1
            passed += ok
            print(f"  {name} run {seed}: {status}: {detail[:160]}", file=sys.stderr)
        print(f"| {name} | {args.runs} | {counts['passed']} | {counts['failed']} |"
              f" {counts['inconclusive']} | {passed} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
