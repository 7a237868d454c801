"""Broken: no bound on the retries of a transient failure (nodemailer#1105: unbounded
re-queueing when connections drop). The test zoo stops it after SAFETY_ATTEMPTS."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(attempts_unbounded=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
