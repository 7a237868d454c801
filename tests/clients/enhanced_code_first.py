"""Broken: classifies a failure by the enhanced status code when the reply has one, not
by the reply code's first digit: "451 5.7.1" is given up as permanent, "550 4.2.2"
retried as transient (RFC 5321 §4.2.1, §4.3.2 and RFC 3463 §2: the reply code governs)."""

from __future__ import annotations

import re
import smtplib
import sys

from harness.clients import Target
from tests.clients._common import (
    Behaviour,
    Permanent,
    Policy,
    main,
    send_once,
    send_with_retries,
)

POLICY = Policy()
BEHAVIOUR = Behaviour()
_ENHANCED = re.compile(rb"^\s*([245])\.\d{1,3}\.\d{1,3}\b")


def enhanced_class(error: BaseException) -> int | None:
    """The class digit of the enhanced code of the reply behind ``error``, if any."""
    reply: bytes | str = b""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        reply = next(iter(error.recipients.values()))[1]
    elif isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
    found = _ENHANCED.match(reply if isinstance(reply, bytes) else reply.encode())
    return int(found.group(1)) if found else None


def once(target: Target, data: bytes, policy: Policy, behaviour: Behaviour,
         state: dict[str, bool]) -> None:
    try:
        send_once(target, data, policy, behaviour, state)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
        klass = enhanced_class(error)
        if klass == 5:
            raise Permanent(f"enhanced code says permanent: {error}") from error
        if klass == 4:
            raise ConnectionError(f"enhanced code says transient: {error}") from error
        raise


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR, once=once)


if __name__ == "__main__":
    sys.exit(main(send))
