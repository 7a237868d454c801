"""A correct SMTP sender: the bundled client the demo and the catalogue run against.

It retries transient failures (4yz replies, dropped connections, timeouts) with
exponential backoff and full jitter, starting again from the initial delay after every
delivery, gives up on permanent failures (5yz) at once, uses a timeout on every command,
and never treats an unconfirmed DATA as delivered. It sends as many messages as asked
(``--messages``, or HARNESS_SMTP_MESSAGES), each distinct, each with its own retries, over
one connection kept between them (a pool of one, as mailers keep): when the server closed
it while idle (RFC 5321 §3.8's asynchronous ``421 4.4.2``, or a reset), the message goes
again at once on a new socket, never reported lost or refused. ``--client-index``
(HARNESS_CLIENT_INDEX) tells one instance of a fleet from another; HARNESS_SMTP_RCPT
(comma-separated) sets recipients, and those the server defers with a 4yz while taking
the others (``452 4.5.3 Too many recipients``) get the message in a later transaction.
With ``--user`` (HARNESS_SMTP_USER) it logs in, over TLS only, once per connection.

    python -m harness.examples.client --host 127.0.0.1 --port 2525
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import smtplib
import ssl
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

DEMO_COMMAND = (
    sys.executable, "-m", "harness.examples.client", "--host", "{host}", "--port", "{port}",
    "--tls", "{tls}", "--cafile", "{cafile}", "--timeout", "3", "--messages", "{messages}",
    "--client-index", "{client}", "--user", "{user}", "--password", "{password}",
)
"""How ``harness demo`` runs this client: every placeholder filled in by the harness."""


@dataclass(frozen=True)
class Policy:
    """How the client retries: delay = uniform(0, min(cap, initial * factor ** n))."""

    initial_s: float = 0.1
    factor: float = 2.0
    cap_s: float = 2.0
    max_attempts: int = 10
    timeout_s: float = 5.0


class PermanentFailure(Exception):
    """The server said no for good (5yz): retrying would not help."""


class Backoff:
    """The delay before each retry: full jitter over a capped exponential envelope,
    from the initial delay again once a message is delivered (gRPC connection-backoff,
    "Reset Backoff"): a hiccup after a success is not the outage before it."""

    def __init__(self, policy: Policy, rng: random.Random | None = None) -> None:
        self.policy, self.rng = policy, rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        p = self.policy
        return self.rng.uniform(0, min(p.cap_s, p.initial_s * p.factor ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0


def build_message(sender: str, recipients: Sequence[str], label: str = "") -> EmailMessage:
    """A message with its own Message-ID and, for a workload, its own subject and body:
    two messages of one run never look like copies of each other."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"smtp-fault-harness example{f' ({label})' if label else ''}"
    message["Message-ID"] = f"<{uuid.uuid4()}@harness.example>"
    message.set_content(f"Sent by the bundled example client{f': {label}' if label else ''}.\n")
    return message


class Pool:
    """One SMTP connection, opened when needed and kept between messages: connect,
    greet, TLS as configured, log in (only over TLS)."""

    def __init__(self, host: str, port: int, policy: Policy = Policy(), *, tls: str = "none",
                 cafile: str | None = None, login: tuple[str, str] | None = None) -> None:
        self.host, self.port, self.policy, self.tls, self.login = host, port, policy, tls, login
        self.context = ssl.create_default_context(cafile=cafile or None)
        self.smtp: smtplib.SMTP | None = None
        self.carried = 0  # messages sent on the current connection

    @property
    def reused(self) -> bool:
        """The next message goes on a connection that already carried one."""
        return self.smtp is not None and self.carried > 0

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
                if self.login is not None:
                    if self.tls == "none":
                        raise PermanentFailure("not sending credentials in clear: no TLS"
                                               " configured")
                    log_in(smtp, *self.login)
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
        """QUIT when done. Every message sent is delivered: a QUIT that fails (a 4yz, a
        reset) changes nothing and must not cause a retry, which would deliver a copy."""
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.drop()


def greet(smtp: smtplib.SMTP) -> None:
    """EHLO; HELO when EHLO is refused for good (5yz: a server without ESMTP, RFC 5321
    §3.2); stop on anything else but a 2yz, read by its first digit (§4.3.2). smtplib's own
    greeting falls back to HELO on a 421 too, on the connection the server just closed
    (RFC 5321 §3.8 forbids carrying on)."""
    code, text = smtp.ehlo()
    if code // 100 == 5:
        code, text = smtp.helo()
    if code // 100 != 2:
        raise smtplib.SMTPHeloError(code, text)


def log_in(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """One AUTH, with the first of PLAIN and LOGIN the server offers. smtplib's ``login``
    tries the next mechanism after any failure: it sends rejected credentials again
    (``535``, RFC 4954 §4) and carries on after a ``421`` that closed the connection
    (RFC 5321 §3.8). A ``4yz`` raises for a retry; a ``5yz`` is permanent."""
    if not smtp.has_extn("auth"):
        raise PermanentFailure("the server offers no AUTH; not sending without logging in")
    offered = smtp.esmtp_features["auth"].upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        raise PermanentFailure(f"no AUTH mechanism this client knows: {' '.join(offered)}")
    smtp.user, smtp.password = user, password
    smtp.auth(mechanism, smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login)


def start_tls(smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
    """STARTTLS is required: not offered, or refused for good, is a permanent failure;
    only a 4yz (``454 TLS not available due to temporary reason``) is worth a retry."""
    try:
        smtp.starttls(context=context)
    except smtplib.SMTPNotSupportedError as error:
        raise PermanentFailure("no STARTTLS offered; not sending in clear") from error
    except smtplib.SMTPResponseException as error:
        if error.smtp_code // 100 != 4:
            raise PermanentFailure(f"STARTTLS refused: {error.smtp_code}") from error
        raise


def send_once(pool: Pool, message: EmailMessage,
              recipients: Sequence[str] | None = None) -> dict[str, tuple[int, bytes]]:
    """One try: the message on the pool's connection (a new one when it has none), to
    ``recipients`` (default: the message's own). Returns the recipients refused while
    others were accepted."""
    smtp = pool.connection()
    try:
        refused = smtp.send_message(message, to_addrs=recipients)
    except BaseException:
        pool.drop()
        raise
    pool.carried += 1
    return refused


def send_with_retries(pool: Pool, message: EmailMessage, backoff: Backoff | None = None, *,
                      log: bool = False) -> int:
    """Deliver ``message``; returns the tries it took. A pooled connection that died
    while idle is replaced at once; other transient failures wait ``backoff``'s delay,
    and so do recipients deferred with a 4yz, which the next try sends to alone.

    Raises PermanentFailure on a 5yz reply, or the last transient error once
    ``max_attempts`` tries failed.
    """
    policy = pool.policy
    backoff = backoff or Backoff(policy)
    recipients: list[str] | None = None  # the message's own; then the ones still due
    for attempt in range(1, policy.max_attempts + 1):
        reused = pool.reused
        try:
            refused = send_once(pool, message, recipients)
        except smtplib.SMTPResponseException as error:
            if error.smtp_code // 100 == 5:
                raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
            failure: Exception = error
        except smtplib.SMTPRecipientsRefused as error:
            codes = {code for code, _ in error.recipients.values()}
            if all(code // 100 == 5 for code in codes):
                raise PermanentFailure(str(error.recipients)) from error
            failure = error
        except (OSError, smtplib.SMTPException) as error:
            if isinstance(error, ssl.SSLCertVerificationError):
                raise PermanentFailure(f"certificate rejected: {error}") from error
            failure = error
        else:
            # sent to the accepted recipients; a 4yz to the others (452 4.5.3 Too many
            # recipients) defers them to a later transaction (RFC 5321 §4.5.3.1.10)
            due = {r: reply for r, reply in refused.items() if reply[0] // 100 == 4}
            if not due:
                backoff.reset()
                return attempt
            recipients = list(due)
            failure = smtplib.SMTPRecipientsRefused(due)
            reused = False  # the server deferred them: wait, as for any transient failure
        if attempt == policy.max_attempts:
            raise failure
        delay = 0.0 if reused else backoff.next_delay()  # idle-closed: not the server's health
        if log:
            again = "a new connection at once" if reused else f"retrying in {delay:.3f}s"
            print(f"attempt {attempt} failed ({failure!r}); {again}", file=sys.stderr)
        time.sleep(delay)
    raise AssertionError("unreachable")


def send_all(pool: Pool, messages: Sequence[EmailMessage], backoff: Backoff | None = None, *,
             log: bool = False) -> int:
    """Send every message over the pool, then QUIT; 0 all delivered, 2 one refused for
    good, 1 one given up on."""
    backoff = backoff or Backoff(pool.policy)
    status = 0
    try:
        for message in messages:
            try:
                attempts = send_with_retries(pool, message, backoff, log=log)
            except PermanentFailure as error:
                print(f"permanent failure, not retrying: {error}", file=sys.stderr)
                status = max(status, 2)
            except (OSError, smtplib.SMTPException) as error:
                print(f"gave up after {pool.policy.max_attempts} attempts: {error!r}",
                      file=sys.stderr)
                status = max(status, 1)
            else:
                print(f"delivered after {attempts} attempt(s)")
    finally:
        pool.close()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.examples.client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cafile", default=None)
    parser.add_argument("--from", dest="sender", default="sender@harness.example")
    parser.add_argument("--to", dest="recipients", action="append")
    parser.add_argument("--timeout", type=float, default=Policy.timeout_s)
    parser.add_argument("--max-attempts", type=int, default=Policy.max_attempts)
    parser.add_argument("--messages", type=int,
                        default=int(os.environ.get("HARNESS_SMTP_MESSAGES") or 1))
    parser.add_argument("--client-index", type=int,
                        default=int(os.environ.get("HARNESS_CLIENT_INDEX") or 0))
    parser.add_argument("--user", default=os.environ.get("HARNESS_SMTP_USER", ""),
                        help="log in (after STARTTLS, never before) when given")
    parser.add_argument("--password", default=os.environ.get("HARNESS_SMTP_PASSWORD", ""))
    args = parser.parse_args(argv)
    policy = Policy(timeout_s=args.timeout, max_attempts=args.max_attempts)
    listed = [r for r in os.environ.get("HARNESS_SMTP_RCPT", "").split(",") if r.strip()]
    recipients = args.recipients or listed or ["rcpt@harness.example"]
    labels = [f"message {number} of {args.messages}, client {args.client_index}"
              if args.messages > 1 or args.client_index else ""
              for number in range(1, args.messages + 1)]
    pool = Pool(args.host, args.port, policy, tls=args.tls, cafile=args.cafile,
                login=(args.user, args.password) if args.user else None)
    return send_all(pool, [build_message(args.sender, recipients, label) for label in labels],
                    log=True)


if __name__ == "__main__":
    sys.exit(main())
