"""Broken: keeps one connection and retries on it, never reconnecting, even after the
server said 421 and closed (appwrite#12628: the retry reused the same stale socket;
python/cpython#132796; RFC 5321 §3.8: after 421 the channel is gone)."""

from __future__ import annotations

import contextlib
import random
import smtplib
import sys
import time

from harness.clients import Target
from tests.clients._common import (
    RECIPIENT,
    SENDER,
    Behaviour,
    Policy,
    classify,
    context,
    main,
    message,
)

POLICY = Policy()


def send(target: Target) -> int:
    rng = random.Random()
    data = message()
    smtp = smtplib.SMTP(target.host, target.port, local_hostname="zoo",
                        timeout=POLICY.timeout_s)
    try:
        if target.tls == "starttls":
            smtp.starttls(context=context(target, Behaviour()))  # raises if not offered
            smtp.ehlo()
        for attempt in range(1, POLICY.max_attempts + 1):
            try:
                smtp.sendmail(SENDER, [RECIPIENT], data)
                return attempt
            except (smtplib.SMTPException, OSError) as error:
                if classify(error) == "permanent" or attempt == POLICY.max_attempts:
                    raise
            envelope = min(POLICY.cap_s, POLICY.initial_s * POLICY.factor ** (attempt - 1))
            time.sleep(rng.uniform(0.75 * envelope, envelope))
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.rset()  # "start the transaction over" -- on the same connection
        raise AssertionError("unreachable")
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp.close()


if __name__ == "__main__":
    sys.exit(main(send))
