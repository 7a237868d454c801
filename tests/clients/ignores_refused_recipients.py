"""Broken: sends with smtplib's ``sendmail`` and ignores what it returns, the recipients
refused while others were accepted: one deferred with ``452 4.5.3 Too many recipients``
never gets the message (RFC 5321 §4.5.3.1.10: send it to them in a later transaction).
Its recipients come from HARNESS_SMTP_RCPT, as the bundled client's do."""

from __future__ import annotations

import os
import smtplib
import sys

from harness.clients import Target
from tests.clients._common import RECIPIENT, SENDER, Policy, main, message

POLICY = Policy()


def send(target: Target) -> int:
    listed = [r for r in os.environ.get("HARNESS_SMTP_RCPT", "").split(",") if r.strip()]
    with smtplib.SMTP(target.host, target.port, timeout=POLICY.timeout_s) as smtp:
        smtp.sendmail(SENDER, listed or [RECIPIENT], message())  # returns the refused: unread
    return 1


if __name__ == "__main__":
    sys.exit(main(send))
