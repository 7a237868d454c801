"""Broken: gives up on the first failure, transient or not (emailjs#202: no retry on a
greylisting 450; dawidd6/action-send-mail#196: no retry on 421)."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(give_up_first=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
