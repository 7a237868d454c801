"""Broken: retries at once, without any delay (penn-clubs#699: retries with no delay;
RFC 5321 §4.5.4.1: the sender MUST delay retrying)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(wait=False)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
