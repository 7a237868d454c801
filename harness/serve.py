"""``harness serve``: one scenario on a fixed port, for a client the harness does not start.

A long-running client (an MTA, a service in a compose file) is pointed at the port; the
run goes on until the verdict is decided (mail delivered, every connection closed, and no
new one for a quiet period long enough for the client's next retry), the time limit
passes, or a signal stops it. Reports are written in every case.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TextIO

from harness.batch import resolve
from harness.clients import ClientResult
from harness.gate import conclude
from harness.interrupt import Interruption
from harness.model import Scenario
from harness.outcome import RunResult
from harness.report import ConsoleReporter
from harness.run import Run
from harness.timeline import Counts
from harness.verdicts import BackoffPolicy, Calibration, calibrate

QUIET_FLOOR_S = 2.0
"""The shortest quiet period: a client reconnecting at once is back well within it."""


def decided(progress: Counts, mail_expected: bool, quiet_s: float) -> bool:
    """Every connection closed, none for ``quiet_s``, and the mail arrived if expected.
    Constant time: it runs on every attempt and message of a run that may last hours."""
    if not progress.attempts or progress.open_attempts:
        return False
    if mail_expected and not progress.messages:
        return False
    last_close = progress.last_close_ns or 0
    return time.monotonic_ns() - last_close >= quiet_s * 1e9


def quiet_period(scenario: Scenario) -> tuple[float, str]:
    """How long to wait, after the last connection closed, for the client's next retry:
    twice the longest gap the scenario allows (its backoff policy, a greylisting or rate
    window, its give-up bound), at least :data:`QUIET_FLOOR_S`; and why, in words."""
    expect = scenario.expectations()
    gaps: list[tuple[float, str]] = [(QUIET_FLOOR_S / 2, "the default")]
    if isinstance(expect.backoff, BackoffPolicy):
        policy = expect.backoff
        retries = max(1, (expect.attempts.max if expect.attempts and expect.attempts.max
                          else 6) - 1)
        envelope = policy.initial_s * policy.factor ** (retries - 1)
        longest = min(policy.cap_s, envelope) if policy.cap_s is not None else envelope
        gaps.append((longest, f"its backoff allows {longest:g} s between attempts"))
    for fault in scenario.build_faults():
        for attr, what in (("seconds", "its greylisting lasts"),
                           ("window_s", "its rate window is")):
            value = getattr(fault, attr, None)
            if isinstance(value, (int, float)) and fault.kind in ("greylist", "rate-limit"):
                gaps.append((float(value), f"{what} {value:g} s"))
    if expect.gives_up_within_s is not None:
        gaps.append((expect.gives_up_within_s / 2,
                     f"the client must give up within {expect.gives_up_within_s:g} s"))
    gap, why = max(gaps)
    return max(QUIET_FLOOR_S, 2 * gap), why


def serve_scenario(
    spec: str | Scenario,
    *,
    host: str,
    port: int,
    seed: int | None = None,
    timeout_s: float = 300.0,
    quiet_s: float | None = None,
    toxiproxy_url: str | None = None,
    json_path: str | Path | None = None,
    junit_path: str | Path | None = None,
    html_path: str | Path | None = None,
    accept_not_exercised: Collection[str] = (),
    interruption: Interruption | None = None,
    stream: TextIO | None = None,
    on_start: Callable[[Run], None] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> int:
    """Serve ``spec`` (a scenario, a file or a built-in name) until it is decided,
    ``timeout_s`` passes or ``interruption`` stops it; print, write the reports, and
    return the exit code. ``quiet_s`` overrides :func:`quiet_period`; ``on_start`` sees
    the run once its server listens, ``on_result`` the result before the reports."""
    (scenario,) = [spec] if isinstance(spec, Scenario) else resolve([spec])
    interruption = interruption or Interruption()
    console = ConsoleReporter(1, stream)
    result = serve_run(scenario, host=host, port=port, seed=seed, timeout_s=timeout_s,
                       quiet_s=quiet_s, toxiproxy_url=toxiproxy_url, calibration=calibrate(),
                       stop=interruption.stop, stream=console.stream, on_start=on_start)
    if on_result is not None:
        on_result(result)
    console.finished(result)
    return conclude([result], console, seed=seed, json_path=json_path, junit_path=junit_path,
                    html_path=html_path, accept_not_exercised=accept_not_exercised,
                    interrupted_by=interruption.signal)


def serve_run(
    scenario: Scenario,
    *,
    host: str,
    port: int,
    seed: int | None = None,
    timeout_s: float = 300.0,
    quiet_s: float | None = None,
    toxiproxy_url: str | None = None,
    calibration: Calibration | None = None,
    stop: threading.Event | None = None,
    stream: TextIO | None = None,
    on_start: Callable[[Run], None] | None = None,
) -> RunResult:
    """The run of ``serve``: until decided, ``timeout_s``, or ``stop`` is set."""
    out = stream or sys.stdout
    stop = stop or threading.Event()
    quiet, why = (quiet_s, "--quiet") if quiet_s is not None else quiet_period(scenario)
    expect = dataclasses.replace(scenario.expectations(), client_exit=None)
    run = Run(scenario, seed=seed, expect=expect, host=host, port=port,
              toxiproxy_url=toxiproxy_url, calibration=calibration,
              time_limit_s=timeout_s, time_limit_from="--timeout", stop=stop)
    started = time.monotonic()
    run.start()
    try:
        if on_start is not None:
            on_start(run)
        reason = _until_decided(run, scenario, quiet, why, timeout_s, stop, out)
    except BaseException:
        run.finish(interrupted=True)
        raise
    run.client = ClientResult(None, time.monotonic() - started, error=f"external client; {reason}")
    return run.finish()


def _until_decided(run: Run, scenario: Scenario, quiet: float, why: str, timeout_s: float,
                   stop: threading.Event, out: TextIO) -> str:
    """Announce where to connect, wait for the verdict to be decided; say what ended it."""
    target = run.target
    assert target is not None
    trust = f", CA file {target.cafile}" if target.cafile else ""
    print(f"serving {scenario.name} on {target.host}:{target.port} (tls: {target.tls}{trust});"
          f" stops when decided (delivered, then no connection for {quiet:g} s: {why}),"
          f" after {timeout_s:g} s, or on Ctrl-C", file=out, flush=True)
    deadline = time.monotonic() + timeout_s
    mail_expected = scenario.expectations().delivered in ("once", "at-least-once")
    while (remaining := deadline - time.monotonic()) > 0 and not stop.is_set():
        try:
            run.recorder.wait_progress(lambda p: decided(p, mail_expected, quiet),
                                       min(remaining, 0.5))
        except TimeoutError:
            continue  # the quiet period is a matter of time, not of events
        if not stop.is_set():
            return "verdict decided"
    return "interrupted" if stop.is_set() else "time limit reached"
