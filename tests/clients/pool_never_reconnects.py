"""Broken: a pooled sender that never reconnects. When the server closes the idle
connection (``421 4.4.2``, or a reset) it keeps using the dead one, so every later
message fails and is reported lost (MailKit#776: "no recipients" on a dead pooled
connection; appwrite#12628: the retry reused the same stale socket).

    python -m tests.clients.pool_never_reconnects --host H --port P [--tls MODE] [--cafile F]
"""

from __future__ import annotations

import sys

from harness.clients import Target
from harness.examples.client import Policy, Pool
from tests.clients._common import main, send_workload

POLICY = Policy(timeout_s=3.0, max_attempts=4)


class StickyPool(Pool):
    """Keeps the connection it has, dead or alive."""

    def drop(self) -> None:
        pass


def send(target: Target) -> int:
    return send_workload(target, POLICY, pool=StickyPool)


if __name__ == "__main__":
    sys.exit(main(send))
