"""Broken: remembers being logged in across reconnections, so after a dropped connection
it sends MAIL on the new one without AUTH and meets ``530 5.7.0 Authentication required``
(RFC 4954 §6): a login holds for the connection it was made on, no longer."""

from __future__ import annotations

import sys

from harness.clients import Target
from tests.clients._common import Behaviour, Policy, main, send_with_retries

POLICY = Policy()
BEHAVIOUR = Behaviour(log_in_once=True)


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR)


if __name__ == "__main__":
    sys.exit(main(send))
