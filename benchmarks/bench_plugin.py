"""Plugin figures: what a test and a Hypothesis example cost on the shared engine.

    python -m benchmarks.bench_plugin            # the full run, about 30 s
    python -m benchmarks.bench_plugin --quick    # a smoke run, a few seconds

Three figures, each beside its reference measured in the same run:

- Per-test setup: what the ``smtp_server`` fixture does (the session's running server,
  its plan swapped and its timeline reset with ``use()``), against starting and stopping a
  fresh ``FakeSMTPServer`` per test. The two alternate, cycle by cycle.
- The same with one delivery per test: an smtplib client sends one message (connect,
  EHLO, MAIL, RCPT, DATA, QUIT) after the setup.
- Hypothesis examples per second: ``check_properties`` on plans drawn by
  ``fault_plans(transient_only=True, max_attempts=3)`` for a fast correct client (smtplib,
  retries after 1 ms doubling, at most three attempts), on one engine for every example,
  against a fresh engine per example. The examples are derandomised: both sides see the
  same plans. Target: at least 50 examples per second on the shared engine.
"""

from __future__ import annotations

import argparse
import os
import platform
import smtplib
import statistics
import sys
import time
from collections.abc import Sequence

from hypothesis import HealthCheck, Phase, given, settings

from benchmarks._figures import Figure, table
from harness import strategies
from harness.clients import Target
from harness.engine import Engine
from harness.plan import Plan
from harness.properties import ClientPolicy, check_properties
from harness.smtp.server import FakeSMTPServer
from harness.verdicts import BackoffPolicy, Calibration, calibrate

MESSAGE = (b"From: bench@example.org\r\nTo: sink@example.org\r\nSubject: plugin benchmark\r\n"
           b"Message-ID: <bench@example.org>\r\n\r\nHello.\r\n")
POLICY = ClientPolicy(max_attempts=3, backoff=BackoffPolicy(0.001, 2.0, 0.004, "equal"),
                      time_limit_s=10.0)
TARGET_EXAMPLES_PER_S = 50.0


def send(host: str, port: int) -> None:
    with smtplib.SMTP(host, port, local_hostname="bench", timeout=5) as smtp:
        smtp.sendmail("bench@example.org", ["sink@example.org"], MESSAGE)


def fast_client(target: Target) -> None:
    """A correct client with millisecond backoff, as property tests should declare."""
    for attempt in range(1, POLICY.max_attempts + 1):
        smtp = None
        try:
            smtp = smtplib.SMTP(target.host, target.port, local_hostname="bench", timeout=2)
            code, _ = smtp.ehlo()
            if code // 100 == 2:
                code, _ = smtp.mail("bench@example.org")
            if code // 100 == 2:
                code, _ = smtp.rcpt("sink@example.org")
            if code // 100 == 2:
                code, _ = smtp.data(MESSAGE)
            if code // 100 == 2:
                return
            if code // 100 == 5:
                raise RuntimeError(f"permanent failure {code}")
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
        if attempt < POLICY.max_attempts:
            time.sleep(0.001 * 2 ** (attempt - 1) * 0.75)
    raise RuntimeError("gave up")


# -- per-test setup ------------------------------------------------------------------------


def per_test(cycles: int, deliver: bool) -> tuple[list[float], list[float]]:
    """(reset, fresh) seconds per test, alternating cycle by cycle."""
    reset: list[float] = []
    fresh: list[float] = []
    with Engine() as engine:
        engine.server().use(())
        for _ in range(cycles):
            start = time.perf_counter()
            server = engine.server()
            server.use(())
            if deliver:
                send(server.host, server.port)
            reset.append(time.perf_counter() - start)

            start = time.perf_counter()
            with FakeSMTPServer() as own:
                if deliver:
                    send(own.host, own.port)
            fresh.append(time.perf_counter() - start)
    return reset, fresh


# -- hypothesis examples -----------------------------------------------------------------


def examples_per_second(examples: int, calibration: Calibration, shared: bool) -> float:
    """Examples per second of a property test, on one engine or a fresh one each."""
    counted = [0]
    engine = Engine(calibration=calibration).start() if shared else None

    @settings(max_examples=examples, database=None, deadline=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategies.fault_plans(transient_only=True, max_attempts=3))
    def prop(plan: Plan) -> None:
        counted[0] += 1
        if engine is not None:
            check_properties(engine, plan, fast_client, policy=POLICY)
        else:
            with Engine(calibration=calibration) as own:
                check_properties(own, plan, fast_client, policy=POLICY)

    start = time.perf_counter()
    try:
        prop()
    finally:
        if engine is not None:
            engine.stop()
    return counted[0] / (time.perf_counter() - start)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def figures(quick: bool = False) -> list[Figure]:
    """Per-test fixture cost and Hypothesis examples per second."""
    cycles = examples = 40 if quick else 300
    found: list[Figure] = []
    for deliver in (False, True):
        reset, fresh = per_test(cycles, deliver)
        r, f = statistics.median(reset), statistics.median(fresh)
        found.append(Figure(
            "fixtures", "per test, setup" + (" + one delivery" if deliver else "")
            + " (median)", ms(r), f"{ms(f)} fresh server", r / f))
    calibration = calibrate()  # measured once, outside the timed part, for both sides
    shared = examples_per_second(examples, calibration, shared=True)
    fresh_rate = examples_per_second(examples, calibration, shared=False)
    found.append(Figure(
        "hypothesis", "examples/s, fast correct client", f"{shared:.1f}/s",
        f"{fresh_rate:.1f}/s fresh engine", shared / fresh_rate,
        f">= {TARGET_EXAMPLES_PER_S:g}/s", shared >= TARGET_EXAMPLES_PER_S))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_plugin",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run, a few seconds")
    args = parser.parse_args(argv)
    cycles = examples = 40 if args.quick else 300
    where = f"{platform.python_implementation()} {platform.python_version()}," \
            f" {os.cpu_count()} CPUs, {platform.system()}"
    print(f"Plugin figures ({where})", file=sys.stderr)

    found = figures(args.quick)
    print(f"\nPlugin: {where}")
    print(f"cycles={cycles} examples={examples}")
    print(table(found, with_area=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
