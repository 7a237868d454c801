"""Broken: opportunistic STARTTLS, so it carries on in clear when STARTTLS is missing or
refused, and drops TLS after a failed handshake, STARTTLS or implicit (chatto#226,
upyo#36, simple-java-mail#655; RFC 8314 §5)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(require_tls=False)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
