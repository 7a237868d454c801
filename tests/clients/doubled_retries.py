"""Broken: the application retries a library that already retries, so one message costs
``3 x max_attempts`` connections in an outage (SRE book ch. 22: retries multiply across
layers; nodemailer#1105)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Permanent, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour()
APP_TRIES = 3


def send(target: Target) -> int:
    """The application's loop around the library's: three tries of the whole send."""
    for attempt in range(1, APP_TRIES + 1):
        try:
            return send_with_retries(target, POLICY, BEHAVIOUR)
        except Permanent:
            raise
        except Exception:
            if attempt == APP_TRIES:
                raise
    raise AssertionError("unreachable")


if __name__ == "__main__":
    sys.exit(main(send))
