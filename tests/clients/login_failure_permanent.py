"""Broken: takes every failed login for wrong credentials and gives up, even when AUTH
got a ``454 4.7.0`` (temporary, RFC 4954 §6) or a ``421`` that closed the connection
(RFC 5321 §3.8), as MailKit#1106 reported a 421 during AUTH as an authentication error."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(auth_failure_permanent=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
