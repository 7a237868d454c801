"""Broken: the bundled client's exponential backoff without its jitter: every delay is
the whole envelope, so a fleet refused at one instant comes back as one wave, at every
retry (gRPC connection-backoff: backoffs started together must disperse; Brooker 2015).

    python -m tests.clients.no_jitter --host H --port P [--tls MODE] [--cafile F]
"""

from __future__ import annotations

import random
import sys

from harness.clients import Target
from harness.examples.client import Backoff, Policy, Pool, send_all
from tests.clients._common import main, workload

POLICY = Policy(timeout_s=3.0)


class NoJitter(random.Random):
    """Draws the top of every range: ``uniform(0, envelope)`` is the envelope."""

    def uniform(self, a: float, b: float) -> float:
        return b


def send(target: Target) -> int:
    messages = workload(target)
    pool = Pool(target.host, target.port, POLICY, tls=target.tls, cafile=target.cafile)
    if send_all(pool, messages, Backoff(POLICY, NoJitter())):
        raise ConnectionError("some messages were not sent")
    return len(messages)


if __name__ == "__main__":
    sys.exit(main(send))
