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
from harness.examples.client import Backoff, Policy, Pool, send_all
from tests.clients._common import main, workload

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
    messages = workload(target)
    pool = Pool(target.host, target.port, POLICY, tls=target.tls, cafile=target.cafile)
    if send_all(pool, messages, NeverReset(POLICY, TopQuarter())):
        raise ConnectionError("some messages were not sent")
    return len(messages)


if __name__ == "__main__":
    sys.exit(main(send))
