"""Broken: logs in as soon as AUTH is advertised, before STARTTLS, sending the password
in clear (subethasmtp#1; RFC 8314 §5)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(auth_before_tls=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
