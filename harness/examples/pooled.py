"""A pooled sender: one connection for many messages, and a new one when it dies.

Mailers keep an SMTP connection open between messages; servers close idle ones, often
with an asynchronous ``421 4.4.2 Idle timeout`` that the client reads only after its next
command (RFC 5321 §3.8), or with a reset. The next message then fails on a dead socket.
Reported as "no recipients" or as a permanent failure, it is lost (MailKit#776,
boulder#2262); this sender treats it as what it is: the connection is gone, so it
reconnects on a **new** socket and sends the message again, with the bundled client's
backoff.

    HARNESS_SMTP_POOL=1 python -m harness.examples.client --port P --messages 3
"""

from __future__ import annotations

import contextlib
import random
import smtplib
import ssl
import sys
import time
from collections.abc import Sequence
from email.message import EmailMessage

from harness.examples.client import PermanentFailure, Policy, greet, start_tls


class Pool:
    """One SMTP connection, opened when needed and kept between messages."""

    def __init__(self, host: str, port: int, policy: Policy, *, tls: str = "none",
                 cafile: str | None = None) -> None:
        self.host, self.port, self.policy, self.tls = host, port, policy, tls
        self.context = ssl.create_default_context(cafile=cafile or None)
        self.smtp: smtplib.SMTP | None = None
        self.carried = 0  # messages sent on the current connection

    def connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            timeout = self.policy.timeout_s
            smtp = (smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=self.context)
                    if self.tls == "implicit" else smtplib.SMTP(self.host, self.port,
                                                                 timeout=timeout))
            try:
                greet(smtp)
                if self.tls == "starttls":
                    start_tls(smtp, self.context)
                    greet(smtp)
            except BaseException:
                smtp.close()
                raise
            self.smtp = smtp
        return self.smtp

    def drop(self) -> None:
        """Forget the connection: the next message opens a new socket."""
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None
            self.carried = 0

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.drop()


def send_pooled(pool: Pool, message: EmailMessage, rng: random.Random | None = None,
                log: bool = False) -> int:
    """Deliver ``message`` on the pool's connection, on a new one after a failure;
    returns the tries it took. A connection that had carried a message and died (closed
    while idle) is replaced at once; other failures back off as the bundled client does.
    Raises PermanentFailure on a 5yz, or the last transient error once ``max_attempts``
    tries failed."""
    rng = rng or random.Random()
    policy = pool.policy
    backoffs = 0
    for attempt in range(1, policy.max_attempts + 1):
        stale = pool.smtp is not None and pool.carried > 0
        try:
            refused = pool.connection().send_message(message)
            pool.carried += 1
            if refused:  # some recipients refused for good: the others have it
                print(f"refused: {refused}", file=sys.stderr)
            return attempt
        except smtplib.SMTPRecipientsRefused as error:
            pool.drop()
            if all(code // 100 == 5 for code, _ in error.recipients.values()):
                raise PermanentFailure(str(error.recipients)) from error
            failure: Exception = error
        except smtplib.SMTPResponseException as error:
            pool.drop()
            if error.smtp_code // 100 == 5:
                raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
            failure = error
        except (OSError, smtplib.SMTPException) as error:
            pool.drop()
            if isinstance(error, ssl.SSLCertVerificationError):
                raise PermanentFailure(f"certificate rejected: {error}") from error
            failure = error
        if attempt == policy.max_attempts:
            raise failure
        delay = 0.0
        if not stale:
            backoffs += 1
            delay = rng.uniform(0, min(policy.cap_s,
                                       policy.initial_s * policy.factor ** (backoffs - 1)))
        if log:
            print(f"try {attempt} failed ({failure!r}); again in {delay:.3f}s on a new"
                  " connection", file=sys.stderr)
        time.sleep(delay)
    raise AssertionError("unreachable")


def send_all(host: str, port: int, messages: Sequence[EmailMessage], policy: Policy, *,
             tls: str = "none", cafile: str | None = None, log: bool = False,
             pool: type[Pool] = Pool) -> int:
    """Send every message over one pooled connection (a ``pool`` of this class); 0 all
    sent, 2 one refused for good, 1 one given up on."""
    connection = pool(host, port, policy, tls=tls, cafile=cafile)
    status = 0
    try:
        for message in messages:
            try:
                send_pooled(connection, message, log=log)
            except PermanentFailure as error:
                print(f"permanent failure, not retrying: {error}", file=sys.stderr)
                status = max(status, 2)
            except (OSError, smtplib.SMTPException) as error:
                print(f"gave up after {policy.max_attempts} tries: {error!r}",
                      file=sys.stderr)
                status = max(status, 1)
    finally:
        connection.close()
    return status
