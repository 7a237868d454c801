"""Broken: after STARTTLS it sends EHLO but waits only briefly for the reply; without
one it goes on with the capabilities learnt before TLS, which RFC 3207 §4.2 makes void
(the question EAST's buffering case B_1 asks of a client)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(wait_for_ehlo_after_tls=False)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
