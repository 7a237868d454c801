"""Broken: waits the same 0.3 s before every retry, however often the server refuses
(RFC 5321 §4.5.4.1 asks for a retry interval that grows; a fixed one keeps hammering a
throttling server at the same rate)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(constant_delay_s=0.3)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
