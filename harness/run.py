"""Run: one scenario, one client under test, one timeline, one verdict.

A run starts the fake server with the scenario's faults, puts the chaos proxy in front of
it when the scenario has a network section, runs the client against whichever the client
must reach, waits for every connection to end, and judges the timeline. Each run has its
own recorder, ports and seed: runs in parallel share nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from harness.attempts import Attempts
from harness.chaos import ChaosProxy, Toxic
from harness.chaos.proxy import join_address
from harness.clients import Client, ClientResult, Target
from harness.model import Scenario
from harness.model.network import Down
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder, Timeline
from harness.tls import certificate
from harness.verdicts import Calibration, Result, Verdict, judge

SETTLE_S = 5.0
"""How long a run waits, after the client is done, for its connections to end."""


@dataclass(frozen=True)
class RunResult:
    """What one scenario run produced: the timeline, the verdict and the client's side."""

    scenario: Scenario
    seed: int
    timeline: Timeline
    verdict: Verdict
    client: ClientResult
    target: Target
    duration_s: float

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    def to_dict(self) -> dict[str, Any]:
        """The JSON report of one scenario (docs/reports.md describes it)."""
        timeline = self.timeline.to_dict()
        return {
            "scenario": self.scenario.name,
            "about": self.scenario.about,
            "definition": self.scenario.to_dict(),
            "passed": self.passed,
            "seed": self.seed,
            "duration_s": round(self.duration_s, 6),
            "target": {"host": self.target.host, "port": self.target.port,
                       "tls": self.target.tls},
            "client": {
                "exit_code": self.client.exit_code,
                "timed_out": self.client.timed_out,
                "duration_s": round(self.client.duration_s, 6),
                "error": self.client.error,
                "stdout": self.client.stdout,
                "stderr": self.client.stderr,
            },
            "attempts": timeline["attempts"],
            "messages": timeline["messages"],
            "expectations": [r.to_dict() for r in self.verdict.results],
            "calibration": self.verdict.calibration.to_dict(),
            "fitted_policy": self.verdict.fitted.to_dict() if self.verdict.fitted else None,
        }


@contextmanager
def serve(
    scenario: Scenario,
    *,
    seed: int | None = None,
    recorder: Recorder | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[tuple[Target, FakeSMTPServer, int]]:
    """Start what the scenario describes; yield where the client must connect.

    The server always; the chaos proxy in front when ``network:`` has toxics or ``down``.
    Whichever the client reaches listens on ``host:port`` (port 0: a free one).
    """
    recorder = recorder or Recorder()
    plan = scenario.fault_plan(seed=seed)
    with ExitStack() as stack:
        server = stack.enter_context(FakeSMTPServer(
            plan, recorder=recorder, host=host, port=0 if scenario.network else port,
            **scenario.server.options(),
        ))
        reach = (server.host, server.port)
        down = scenario.down()
        if scenario.network:
            proxy = stack.enter_context(ChaosProxy(
                (server.host, server.port),
                [Toxic.from_json(item.to_json()) for item in scenario.toxics()],
                recorder=recorder, seed=plan.seed, listen=join_address(host, port),
            ))
            apply_down(proxy, down, stack)
            reach = (proxy.host, proxy.port)
        tls = scenario.server.tls
        target = Target(*reach, tls=tls, cafile=trusted_cafile(tls))
        yield target, server, plan.seed


def apply_down(proxy: ChaosProxy, down: Down | None, stack: ExitStack) -> None:
    """Make ``proxy`` down as the scenario's ``down`` says: on some attempts (accepted and
    reset at once, so they are counted), or for the whole run or its first ``for_s``
    seconds (refused for real, so not counted). ``stack`` undoes the timer."""
    proxy.down = None if down is None or down.attempts is None else Attempts.parse(down.attempts)
    if down is None or down.attempts is not None:
        return
    proxy.disable()
    if down.for_s is not None:
        timer = threading.Timer(down.for_s, proxy.enable)
        timer.daemon = True
        timer.start()
        stack.callback(timer.cancel)


def trusted_cafile(tls: str) -> str | None:
    """The CA file a client must trust: one root signs every catalogue variant."""
    return None if tls == "none" else str(certificate("valid").cafile)


def run_scenario(
    scenario: Scenario,
    client: Client,
    *,
    seed: int | None = None,
    timeout_s: float | None = None,
    calibration: Calibration | None = None,
) -> RunResult:
    """Run ``client`` against ``scenario`` and judge what happened.

    ``timeout_s`` overrides the scenario's ``client.timeout_s``: past it the client is
    stopped, and the verdict is still written.
    """
    recorder = Recorder()
    limit = timeout_s if timeout_s is not None else scenario.client.timeout_s
    started = time.monotonic()
    with serve(scenario, seed=seed, recorder=recorder) as (target, _, run_seed):
        outcome = client.run(target, limit)
        # still open after that: stopping the server closes it, recorded as server-stop
        with contextlib.suppress(TimeoutError):
            recorder.wait_for(lambda t: all(a.end_ns is not None for a in t.attempts), SETTLE_S)
    timeline = recorder.timeline()
    duration = time.monotonic() - started
    verdict = judge(
        timeline, scenario.expectations(), client_exit=outcome.exit_code,
        calibration=calibration, duration_s=duration, seed=run_seed,
    )
    if outcome.timed_out:
        verdict = dataclasses.replace(verdict, results=(*verdict.results, _stopped(limit)))
    return RunResult(scenario, run_seed, timeline, verdict, outcome, target, duration)


def _stopped(limit: float) -> Result:
    """A client still running at the scenario's time limit hangs somewhere: a failure of
    its own, whatever else was expected (RFC 5321 §4.5.3.2: a client MUST time out)."""
    return Result(
        "finishes-in-time", "violation", "failed",
        f"The client was still running after the scenario's {limit:g}s time limit and was"
        " stopped. Give every command a timeout and bound the retries (RFC 5321 §4.5.3.2),"
        " or raise client.timeout_s if the scenario needs longer.",
        {"time_limit_s": limit},
    )
