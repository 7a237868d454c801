"""Broken: when an attempt got as far as DATA it restarts its retry count, so a server
that drops every connection after the final dot gets the message again and again
(pimalaya/core#46: retry after a post-DATA error with retry.reset(), unbounded duplicates).
The test zoo stops it after SAFETY_ATTEMPTS."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(reset_after_data=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
