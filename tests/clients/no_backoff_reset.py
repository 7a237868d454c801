"""Broken: the bundled client with one backoff for all its messages, never reset after a
delivery: a failure after a success waits as long as the outage before it did (gRPC
connection-backoff, "Reset Backoff"; a shared retry state that starves the next message).
It draws from the top quarter of each envelope, within the declared full jitter (as the
zoo's clients draw within theirs), so the grown delays show on every run.

    python -m tests.clients.no_backoff_reset --host H --port P [--tls MODE] [--cafile F]
"""

from __future__ import annotations

import random
import sys

from harness.clients import Target
from harness.examples.client import Backoff, Policy
from tests.clients._common import main, send_workload

POLICY = Policy(timeout_s=3.0)


class NeverReset(Backoff):
    """Keeps counting failures across deliveries."""

    def reset(self) -> None:
        pass


class TopQuarter(random.Random):
    """``uniform(0, envelope)`` drawn from its top quarter."""

    def uniform(self, a: float, b: float) -> float:
        return super().uniform(a + 0.75 * (b - a), b)


def send(target: Target) -> int:
    return send_workload(target, POLICY, NeverReset(POLICY, TopQuarter()))


if __name__ == "__main__":
    sys.exit(main(send))
