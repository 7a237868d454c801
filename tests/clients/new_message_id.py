"""Broken: builds the message again for every attempt, with a new Message-ID, so a
server that stored it before the connection dropped cannot tell the copies apart
(RFC 5322 §3.6.4: a retransmission keeps its Message-ID; RFC 1047)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(new_message_id=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
