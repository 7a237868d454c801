"""Broken: the bundled client's exponential backoff without its jitter: every delay is
the whole envelope, so a fleet refused at one instant comes back as one wave, at every
retry (gRPC connection-backoff: backoffs started together must disperse; Brooker 2015).

    python -m tests.clients.no_jitter --host H --port P [--tls MODE] [--cafile F]
"""

from __future__ import annotations

import random
import sys

from harness.clients import Target
from harness.examples.client import Backoff, Policy
from tests.clients._common import main, send_workload

POLICY = Policy(timeout_s=3.0)


class NoJitter(random.Random):
    """Draws the top of every range: ``uniform(0, envelope)`` is the envelope."""

    def uniform(self, a: float, b: float) -> float:
        return b


def send(target: Target) -> int:
    return send_workload(target, POLICY, Backoff(POLICY, NoJitter()))


if __name__ == "__main__":
    sys.exit(main(send))
