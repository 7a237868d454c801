"""The fleet and workload scenarios end to end, run after run: a fleet of 20 processes
of the bundled client passes ``herd-outage`` and 20 processes of a client without jitter
fail it; the bundled client passes ``backoff-reset-after-success`` and a client that
never resets its backoff fails it.

    python -m benchmarks.bench_fleet                            # 20 runs each way
    python -m benchmarks.bench_fleet --runs 3 --scenario herd-outage   # a smoke run

Each run starts the scenario's clients as commands, as ``harness run`` does, against its
own server; the result of the check the scenario exists for is counted (passed, failed,
inconclusive), with how many runs passed as a whole (and were exercised); every run's
detail goes to stderr. The simulated false-fail rate of the herd statistic is
``benchmarks.bench_herd``'s.
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


def zoo(name: str) -> list[str]:
    return [sys.executable, "-m", f"tests.clients.{name}", "--host", "{host}", "--port",
            "{port}"]


CASES = {
    "herd-outage": ("herd-disperses", {
        "bundled client (full jitter)": list(DEMO_COMMAND),
        "no_jitter (tests/clients)": zoo("no_jitter")}),
    "backoff-reset-after-success": ("resets-backoff", {
        "bundled client (resets)": list(DEMO_COMMAND),
        "no_backoff_reset (tests/clients)": zoo("no_backoff_reset")}),
}
"""scenario: (the check it exists for, {fleet: command})."""


def run_once(scenario: str, check: str, command: Sequence[str], seed: int
             ) -> tuple[str, bool, str]:
    """(the check's status, verdict passed and exercised, the check's detail) of one run."""
    with Run(load_scenario(scenario), seed=seed) as run:
        run.run_client(CommandClient(list(command)))
    result = run.verdict.result(check)
    return result.status, run.verdict.passed and not run.result.why, result.detail


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_fleet",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenario", choices=list(CASES), action="append",
                        help="the scenarios to run (default: both)")
    args = parser.parse_args(argv)
    print("| scenario | client | runs | check passed | failed | inconclusive |"
          " scenario passed |")
    print("|---|---|---|---|---|---|---|")
    for scenario in args.scenario or list(CASES):
        check, fleets = CASES[scenario]
        for name, command in fleets.items():
            counts: Counter[str] = Counter()
            passed = 0
            for seed in range(1, args.runs + 1):
                status, ok, detail = run_once(scenario, check, command, seed)
                counts[status] += 1
                passed += ok
                print(f"  {scenario} {name} run {seed}: {status}: {detail[:160]}",
                      file=sys.stderr)
            print(f"| {scenario} ({check}) | {name} | {args.runs} | {counts['passed']} |"
                  f" {counts['failed']} | {counts['inconclusive']} | {passed} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
