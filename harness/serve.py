"""``harness serve``: one scenario on a fixed port, for a client the harness does not start.

A long-running client (an MTA, a service in a compose file) is pointed at the port; the
harness serves until the verdict is decided (mail delivered, every connection closed, and
no new one for a quiet period), the time limit passes, or Ctrl-C. Reports are written in
every case.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import TextIO

from harness.batch import resolve
from harness.clients import ClientResult
from harness.report import ConsoleReporter, write_html, write_json, write_junit
from harness.run import RunResult, serve
from harness.timeline import Progress, Recorder
from harness.verdicts import calibrate, judge


def decided(progress: Progress, mail_expected: bool, quiet_s: float) -> bool:
    """Every connection closed, none for ``quiet_s``, and the mail arrived if expected.
    Constant time: it runs on every attempt and message of a run that may last hours."""
    if not progress.attempts or progress.open_attempts:
        return False
    if mail_expected and not progress.messages:
        return False
    last_close = progress.last_close_ns or 0
    return time.monotonic_ns() - last_close >= quiet_s * 1e9


def serve_scenario(
    spec: str,
    *,
    host: str,
    port: int,
    seed: int | None = None,
    timeout_s: float = 300.0,
    quiet_s: float = 2.0,
    json_path: str | Path | None = None,
    junit_path: str | Path | None = None,
    html_path: str | Path | None = None,
    stream: TextIO | None = None,
) -> int:
    """Serve ``spec`` (a file or a built-in name); 0 if its verdict passed, 1 otherwise."""
    out = stream or sys.stdout
    (scenario,) = resolve([spec])
    calibration = calibrate()
    recorder = Recorder()
    started = time.monotonic()
    reason = "time limit reached"
    with serve(scenario, seed=seed, recorder=recorder, host=host, port=port) as (target, _, s):
        run_seed = s
        trust = f", CA file {target.cafile}" if target.cafile else ""
        print(f"serving {scenario.name} on {target.host}:{target.port} (tls: {target.tls}{trust});"
              f" stops when decided, after {timeout_s:g}s, or on Ctrl-C", file=out, flush=True)
        mail_expected = scenario.expectations().delivered in ("once", "at-least-once")
        try:
            while (remaining := started + timeout_s - time.monotonic()) > 0:
                try:
                    recorder.wait_progress(lambda p: decided(p, mail_expected, quiet_s),
                                           min(remaining, 0.5))
                    reason = "verdict decided"
                    break
                except TimeoutError:
                    continue  # the quiet period is a matter of time, not of events
        except KeyboardInterrupt:
            reason = "interrupted"
    duration = time.monotonic() - started
    timeline = recorder.timeline()
    expectations = dataclasses.replace(scenario.expectations(), client_exit=None)
    verdict = judge(timeline, expectations, calibration=calibration, duration_s=duration,
                    seed=run_seed)
    client = ClientResult(None, duration, error=f"external client; {reason}")
    result = RunResult(scenario, run_seed, timeline, verdict, client, target, duration)
    console = ConsoleReporter(1, out)
    console.finished(result)
    console.summary([result])
    if json_path:
        write_json(json_path, [result], seed)
    if junit_path:
        write_junit(junit_path, [result])
    if html_path:
        write_html(html_path, [result], seed)
    return 0 if result.passed else 1
