"""Broken: certificate verification turned off (MailKit#307, #912: ServerCertificate-
ValidationCallback returning true; RFC 8314 §5.3)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(verify_certificate=False)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
