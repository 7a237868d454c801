"""Broken: treats every failure as transient and retries a 550 (penn-clubs#699 retries
SMTPAuthenticationError, a 5yz; RFC 5321 §4.2.1: a 5yz is permanent)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(retry_permanent=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
