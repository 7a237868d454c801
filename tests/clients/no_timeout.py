"""Broken: no timeout on the socket, so a server that accepts and never answers hangs it
for ever (aiosmtplib#38, #243; RFC 5321 §4.5.3.2: a client MUST time out)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(timeout=False)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
