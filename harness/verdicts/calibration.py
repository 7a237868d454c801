"""C0: how late this machine's timers fire, measured at the start of a run.

Timers fire late, never early: scheduler delay, GC pauses and event-loop lag only ever
*lengthen* an observed delay. So lower bounds need no slack, while every upper bound
(a backoff envelope, a cap, a give-up time) gets the slack measured here:
``max(3·q, 50 ms) + 10 % of the expected value``, where ``q`` is the 99.9th percentile
of the overshoot of short sleeps. A fixed small slack fails correct clients on a loaded
CI machine; a calibrated one does not.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from harness.loop import LoopThread
from harness.verdicts.result import Status
from harness.verdicts.stats import quantile

SLACK_FLOOR_S = 0.050
SLACK_FRACTION = 0.10
NOISE_MULTIPLIER = 3.0
#: Timers in some runtimes fire up to a clock tick early (asyncio's clock resolution,
#: Node's setTimeout); lower bounds forgive that much, and nothing more.
EARLY_TOLERANCE_S = 0.001
EARLY_FRACTION = 0.01
#: The measurement taken again as a run's client ends: its samples, and how long one such
#: measurement stands for "now" to the runs of the same process.
RECHECK_SAMPLES = 30
RECHECK_MAX_AGE_S = 5.0


@dataclass(frozen=True)
class Calibration:
    """Timer noise of this machine: overshoot quantiles of ``samples`` short sleeps."""

    samples: int
    sleep_s: float
    p50_s: float
    p99_s: float
    q_s: float  # p99.9 of overshoot
    measured: bool = True

    @classmethod
    def assumed(cls) -> Calibration:
        """A conservative stand-in when nothing was measured: 20 ms of noise."""
        return cls(samples=0, sleep_s=0.0, p50_s=0.002, p99_s=0.02, q_s=0.02, measured=False)

    def noise_s(self) -> float:
        """The absolute part of the slack: ``max(3·q, 50 ms)``."""
        return max(NOISE_MULTIPLIER * self.q_s, SLACK_FLOOR_S)

    def slack_s(self, expected_s: float) -> float:
        """How far above ``expected_s`` an observation may land and still count as it."""
        return self.noise_s() + SLACK_FRACTION * max(expected_s, 0.0)

    def early_s(self, expected_s: float) -> float:
        """How far below a lower bound an observation may land (timer granularity only)."""
        return EARLY_TOLERANCE_S + EARLY_FRACTION * max(expected_s, 0.0)

    def noise_dominates(self, expected_s: float) -> bool:
        """True when ``expected_s`` is under 20x the noise: shape is not judgeable there."""
        return expected_s < 20 * self.q_s

    def upper_status(self, observed_s: float, bound_s: float, allowance_s: float = 0.0) -> Status:
        """Judge ``observed_s <= bound_s`` as an upper bound. ``allowance_s`` is time the
        bound does not cover but the observation includes (the client's own per-attempt
        work, as measured in the run). Within the slack the bound holds; within twice the
        slack, or where noise dominates the bound, it is undecidable; beyond, it fails."""
        slack = self.slack_s(bound_s)
        excess = observed_s - bound_s - max(allowance_s, 0.0)
        if excess <= slack:
            return "passed"
        if excess <= 2 * slack or self.noise_dominates(bound_s):
            return "inconclusive"
        return "failed"

    def worst(self, other: Calibration) -> Calibration:
        """The noisier of two measurements, quantile by quantile: a run is judged with the
        noise measured as it started and again as its client ended, so a load that rose
        in between (the other jobs of a batch, a neighbour's test suite) counts."""
        if not other.measured:
            return self
        if not self.measured:
            return other
        return Calibration(samples=self.samples + other.samples, sleep_s=self.sleep_s,
                           p50_s=max(self.p50_s, other.p50_s),
                           p99_s=max(self.p99_s, other.p99_s), q_s=max(self.q_s, other.q_s))

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured": self.measured,
            "samples": self.samples,
            "sleep_s": self.sleep_s,
            "overshoot_p50_s": round(self.p50_s, 6),
            "overshoot_p99_s": round(self.p99_s, 6),
            "overshoot_p999_s": round(self.q_s, 6),
            "slack_floor_s": round(self.noise_s(), 6),
            "slack_fraction": SLACK_FRACTION,
        }


def calibrate(samples: int = 100, sleep_s: float = 0.001) -> Calibration:
    """Measure by how much ``samples`` short sleeps of each of three kinds overshoot.
    Takes about ``3 · samples · sleep_s`` plus a few milliseconds.

    - a sleep in this thread (the client under test sleeps in a thread or a process);
    - a sleep on a fresh event loop (the fake server stamps its events from one);
    - the whole retry path, as a reference client with a known policy: a loopback
      server on an event-loop thread closes the connection, this thread sleeps and
      reconnects, and the server measures failure-to-accept minus the sleep. Under load
      this is the one that grows: three wake-ups across two threads.
    """
    if samples < 1 or sleep_s <= 0:
        raise ValueError("calibrate() needs samples >= 1 and sleep_s > 0")
    overshoot = [_thread_sleep(sleep_s) for _ in range(samples)]
    overshoot += asyncio.run(_loop_sleeps(samples, sleep_s))
    overshoot += _reconnects(samples, sleep_s)
    return Calibration(
        samples=len(overshoot),
        sleep_s=sleep_s,
        p50_s=quantile(overshoot, 0.5),
        p99_s=quantile(overshoot, 0.99),
        q_s=quantile(overshoot, 0.999),
    )


_recheck_lock = threading.Lock()
_rechecked: tuple[float, Calibration] | None = None


def recheck(max_age_s: float = RECHECK_MAX_AGE_S) -> Calibration:
    """The timer noise now: measured again (``RECHECK_SAMPLES`` of each kind, about
    0.1 s) unless a run of this process measured it within the last ``max_age_s``. Runs
    judged back to back (a property test's examples, a batch's scenarios) share one
    measurement rather than each paying 0.1 s for it."""
    global _rechecked
    with _recheck_lock:
        if _rechecked is None or time.monotonic() - _rechecked[0] > max_age_s:
            measured = calibrate(samples=RECHECK_SAMPLES)
            _rechecked = (time.monotonic(), measured)
        return _rechecked[1]


def _thread_sleep(sleep_s: float) -> float:
    start = time.monotonic_ns()
    time.sleep(sleep_s)
    return max(0.0, (time.monotonic_ns() - start) / 1e9 - sleep_s)


def _reconnects(samples: int, sleep_s: float) -> list[float]:
    stamps: list[tuple[int, int]] = []  # (accepted, closed) per connection, server side

    class Closer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = time.monotonic_ns()
            transport.close()
            stamps.append((accepted, time.monotonic_ns()))

    async def close(server: asyncio.Server) -> None:
        server.close()
        await server.wait_closed()

    # The server belongs to the loop thread: it is opened and closed there, never from
    # this thread (closing it from here races the loop's own bookkeeping).
    thread = LoopThread("smtp-fault-harness calibration")
    try:
        server = thread.call(thread.loop.create_server(Closer, "127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        for _ in range(samples + 1):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.recv(1)  # returns at the server's close
            time.sleep(sleep_s)
        thread.call(close(server))
    finally:
        thread.stop()
    return [max(0.0, (accepted - closed) / 1e9 - sleep_s)
            for (_, closed), (accepted, _) in pairwise(stamps)]


async def _loop_sleeps(samples: int, sleep_s: float) -> list[float]:
    overshoot = []
    for _ in range(samples):
        start = time.monotonic_ns()
        await asyncio.sleep(sleep_s)
        overshoot.append(max(0.0, (time.monotonic_ns() - start) / 1e9 - sleep_s))
    return overshoot
