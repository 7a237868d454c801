"""Backoff verdicts under load: how often a correct jittered client is failed.

    python -m benchmarks.bench_verdicts              # 100 runs + 3 x 20, about 6 minutes
    python -m benchmarks.bench_verdicts --runs 10 --power 3   # a smoke run

Each run calibrates the timer noise (C0), starts a fake server that answers the first
N connections with ``421 4.7.0 Try again later`` at the banner, runs the bundled example
client (exponential backoff with full jitter, seeded per run) in this process, and judges
the timeline against the client's declared policy. Meanwhile CPU burner processes (one
per core unless told otherwise) spin, so the server's loop thread, the client and the
calibration compete with them for the CPU.

Then each broken sender in ``BROKEN`` runs ``--power`` times under the same load: how
often is its bug caught?

A *false fail* is a failed backoff result (floor, growth, cap or envelope) for this
correct client; *inconclusive* counts runs where some backoff result was undecidable.
The target is zero false fails. For contrast, the last column counts the runs a fixed
slack of 50 ms + 10 % (no calibration, no noise band, no reaction allowance) would fail.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import smtplib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.synchronize import Event

from benchmarks._figures import Figure
from harness import faults
from harness.examples.client import (
    Backoff,
    Policy,
    Pool,
    build_message,
    send_once,
    send_with_retries,
)
from harness.smtp.server import FakeSMTPServer
from harness.verdicts import BackoffPolicy, Expectations, Verdict, calibrate, judge

POLICY = Policy(initial_s=0.1, factor=2.0, cap_s=1.0, max_attempts=8, timeout_s=10.0)
DECLARED = BackoffPolicy(initial_s=POLICY.initial_s, factor=POLICY.factor, cap_s=POLICY.cap_s,
                         jitter="full")


def _burn(stop: Event) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x = (x * 31 + 7) % 1_000_003


@contextmanager
def burners(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU until the block ends."""
    stop = multiprocessing.Event()
    procs = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True)
             for _ in range(count)]
    for proc in procs:
        proc.start()
    try:
        yield
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=5)


@dataclass
class Run:
    verdict: Verdict
    seconds: float

    @property
    def backoff(self) -> list[str]:
        return [r.status for r in self.verdict.results if r.name.startswith("backoff.")]

    @property
    def naive_fail(self) -> bool:
        """Would a fixed slack (50 ms + 10 %, no noise band, no reaction allowance) have
        failed this correct client? The reference's point: slack must be calibrated."""
        rows = self.verdict.result("backoff.envelope").evidence["retries"]
        return any(row["waited_s"] > row["max_s"] * 1.1 + 0.05 for row in rows)


def _envelope(n: int) -> float:
    return min(POLICY.cap_s, POLICY.initial_s * POLICY.factor ** (n - 1))


#: Senders that break the declared full-jitter policy, each in one way: how often is each
#: caught (a failed backoff result) under the same load?
BROKEN: dict[str, Callable[[int], float]] = {
    "retries at once": lambda n: 0.0,
    "no jitter, 2.5x the envelope": lambda n: 2.5 * _envelope(n),
    "constant 0.3 s": lambda n: 0.3,
}


def _broken_sender(delay: Callable[[int], float]) -> Callable[[str, int, int], None]:
    def send(host: str, port: int, seed: int) -> None:
        message = build_message("bench@example.org", ["sink@example.org"])
        for attempt in range(1, POLICY.max_attempts + 1):
            pool = Pool(host, port, POLICY)
            try:
                send_once(pool, message)
                pool.close()
                return
            except (OSError, smtplib.SMTPException):
                time.sleep(delay(attempt))

    return send


def _correct_sender(host: str, port: int, seed: int) -> None:
    message = build_message("bench@example.org", ["sink@example.org"])
    pool = Pool(host, port, POLICY)
    send_with_retries(pool, message, Backoff(POLICY, random.Random(seed)))
    pool.close()


def one_run(
    seed: int, faults_n: int, samples: int,
    sender: Callable[[str, int, int], None] = _correct_sender,
) -> Run:
    calibration = calibrate(samples=samples)
    plan = [faults.Reply(at="banner", reply="421 4.7.0 Try again later",
                         attempts=f"1-{faults_n}")]
    started = time.monotonic()
    with FakeSMTPServer(plan, seed=seed) as server:
        sender(server.host, server.port, seed)
        timeline = server.recorder.wait_for(
            lambda t: bool(t.attempts) and all(a.end_ns for a in t.attempts), 10.0)
    expectations = Expectations(delivered="once", backoff=DECLARED)
    verdict = judge(timeline, expectations, calibration=calibration, seed=seed)
    return Run(verdict, time.monotonic() - started)


def figures(quick: bool = False) -> list[Figure]:
    """The false-fail rate of the backoff verdict under load, for ``python -m benchmarks``."""
    count = 10 if quick else 100
    with burners(os.cpu_count() or 1):
        runs = [one_run(20261128 + i, 4, 100) for i in range(count)]
    false_fails = sum("failed" in r.backoff for r in runs)
    inconclusive = sum("inconclusive" in r.backoff for r in runs)
    naive = sum(bool(r.naive_fail) for r in runs)
    return [Figure("verdicts", f"backoff false fails, correct jittered client, CPU burners"
                   f" ({inconclusive} inconclusive)", f"{false_fails} of {count}",
                   f"{naive} with a fixed 50 ms slack", None, "0", false_fails == 0)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_verdicts",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--faults", type=int, default=4, help="421s before the delivery")
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--samples", type=int, default=100, help="calibration sleeps per kind")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--power", type=int, default=20,
                        help="runs of each broken sender (0: skip)")
    parser.add_argument("--json", metavar="PATH",
                        help="write every verdict, one JSON object a line, to PATH")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()} on {platform.system()} {platform.machine()},"
          f" {os.cpu_count()} cores, {args.burners} CPU burner process(es)")
    print(f"client: full jitter, initial {POLICY.initial_s} s, factor {POLICY.factor},"
          f" cap {POLICY.cap_s} s; {args.faults} x 421 at the banner, then delivery")
    runs: list[Run] = []
    power: dict[str, list[Run]] = {name: [] for name in BROKEN}
    with burners(args.burners):
        for i in range(args.runs):
            runs.append(one_run(args.seed + i, args.faults, args.samples))
            if (i + 1) % 10 == 0:
                print(f"  {i + 1} runs", file=sys.stderr)
        for name, delay in BROKEN.items():
            for i in range(args.power):
                power[name].append(one_run(args.seed + i, args.faults, args.samples,
                                           _broken_sender(delay)))
            print(f"  {name}: {args.power} runs", file=sys.stderr)

    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            for sender, group in [("correct", runs), *power.items()]:
                for run in group:
                    out.write(json.dumps({"sender": sender, **run.verdict.to_dict()}) + "\n")

    false_fails = [r for r in runs if "failed" in r.backoff]
    inconclusive = [r for r in runs if "inconclusive" in r.backoff]
    undelivered = [r for r in runs if r.verdict.result("delivered").status != "passed"]
    slack = [r.verdict.calibration.noise_s() for r in runs]
    q = [r.verdict.calibration.q_s for r in runs]
    growth = [r.verdict.result("backoff.growth").status for r in runs]
    print()
    naive = [r for r in runs if r.naive_fail]
    reaction = [r.verdict.result("backoff.envelope").evidence["reaction_s"] for r in runs]
    print("| runs | backoff false fails | runs with an inconclusive backoff result"
          " | delivered-once failures | calibration q (p99.9 overshoot) median / max"
          " | absolute slack max(3q, 50 ms) median / max | reaction allowance median / max"
          " | false fails with a fixed 50 ms + 10 % slack |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {len(runs)} | {len(false_fails)} | {len(inconclusive)} | {len(undelivered)}"
          f" | {statistics.median(q) * 1e3:.2f} / {max(q) * 1e3:.2f} ms"
          f" | {statistics.median(slack) * 1e3:.1f} / {max(slack) * 1e3:.1f} ms"
          f" | {statistics.median(reaction) * 1e3:.1f} / {max(reaction) * 1e3:.1f} ms"
          f" | {len(naive)} |")
    print()
    print("growth on one run of a full-jitter client: "
          + ", ".join(f"{s} {growth.count(s)}" for s in ("passed", "inconclusive", "failed")))
    if args.power:
        print()
        print("| broken sender (declared: the same full-jitter policy) | runs | caught"
              " (a backoff result failed) | inconclusive only | passed | caught by |")
        print("|---|---|---|---|---|---|")
        for name, broken in power.items():
            caught = [r for r in broken if "failed" in r.backoff]
            unsure = [r for r in broken if r not in caught and "inconclusive" in r.backoff]
            by = sorted({res.name for r in caught for res in r.verdict.failures})
            print(f"| {name} | {len(broken)} | {len(caught)} | {len(unsure)}"
                  f" | {len(broken) - len(caught) - len(unsure)} | {', '.join(by) or '-'} |")
    for run in false_fails:
        print(f"\nFALSE FAIL (seed {run.verdict.seed}):\n{run.verdict}")
    return 1 if false_fails else 0


if __name__ == "__main__":
    sys.exit(main())
