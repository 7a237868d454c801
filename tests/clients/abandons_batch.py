"""Broken: a batch sender that stops at the first message the server refuses for good,
and never tries the rest: one message's ``550`` to MAIL FROM is taken for the server's
answer to every message (RFC 5321 §4.5.4.1: "5yz responses to the MAIL command MUST NOT
be cached"). It sends the scenario's ``{messages}`` on the bundled client's pool.

    python -m tests.clients.abandons_batch --host H --port P [--tls MODE] [--cafile F]
"""

from __future__ import annotations

import sys

from harness.clients import Target
from harness.examples.client import Policy, Pool, send_with_retries
from tests.clients._common import main, workload

POLICY = Policy(timeout_s=3.0, max_attempts=4)


def send(target: Target) -> int:
    messages = workload(target)
    pool = Pool(target.host, target.port, POLICY, tls=target.tls, cafile=target.cafile)
    try:
        for message in messages:
            send_with_retries(pool, message)  # a PermanentFailure ends the whole batch
    finally:
        pool.close()
    return len(messages)


if __name__ == "__main__":
    sys.exit(main(send))
