"""Broken: takes a refused login (``535 5.7.8``) for a passing failure and retries the
same credentials, as penn-clubs#699 retried SMTPAuthenticationError; the account locks
(RFC 4954 §4: rejected credentials cannot succeed; RFC 5321 §4.2.1: a 5yz is permanent).
Every other 5yz it handles correctly."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(retry_auth_failure=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
