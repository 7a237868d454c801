"""A correct SMTP sender: the bundled client the demo and the catalogue run against.

It retries transient failures (4yz replies, dropped connections, timeouts) with
exponential backoff and full jitter, gives up on permanent failures (5yz) at once,
uses a timeout on every command, and never treats an unconfirmed DATA as delivered.
It sends as many messages as asked (``--messages``, or HARNESS_SMTP_MESSAGES), each
distinct, each with its own retries; ``--client-index`` (HARNESS_CLIENT_INDEX) tells one
instance of a fleet from another; HARNESS_SMTP_RCPT (comma-separated) sets recipients.

    python -m harness.examples.client --host 127.0.0.1 --port 2525
"""

from __future__ import annotations

import argparse
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


def send_once(
    host: str, port: int, message: EmailMessage, policy: Policy, tls: str, cafile: str | None,
    login: tuple[str, str] | None = None,
) -> None:
    """One attempt: connect, greet, TLS as configured, log in (only over TLS), send."""
    context = ssl.create_default_context(cafile=cafile or None)
    smtp = (
        smtplib.SMTP_SSL(host, port, timeout=policy.timeout_s, context=context)
        if tls == "implicit"
        else smtplib.SMTP(host, port, timeout=policy.timeout_s)
    )
    try:
        greet(smtp)
        if tls == "starttls":
            start_tls(smtp, context)
            greet(smtp)
        if login is not None:
            if tls == "none":
                raise PermanentFailure("not sending credentials in clear: no TLS configured")
            smtp.login(*login)
        smtp.send_message(message)
    except BaseException:
        smtp.close()
        raise
    # Delivered: a QUIT that fails (a 4yz, a reset) changes nothing and must not cause a
    # retry, which would deliver a second copy. smtplib's context manager raises there.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


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


def send_with_retries(
    host: str,
    port: int,
    message: EmailMessage,
    policy: Policy = Policy(),
    *,
    tls: str = "none",
    cafile: str | None = None,
    rng: random.Random | None = None,
    log: bool = False,
    login: tuple[str, str] | None = None,
) -> int:
    """Deliver ``message``; returns the number of attempts it took.

    Raises PermanentFailure on a 5yz reply, or the last transient error once
    ``max_attempts`` is used up.
    """
    rng = rng or random.Random()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            send_once(host, port, message, policy, tls, cafile, login)
            return attempt
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
        if attempt == policy.max_attempts:
            raise failure
        delay = rng.uniform(0, min(policy.cap_s, policy.initial_s * policy.factor ** (attempt - 1)))
        if log:
            print(f"attempt {attempt} failed ({failure!r}); retrying in {delay:.3f}s",
                  file=sys.stderr)
        time.sleep(delay)
    raise AssertionError("unreachable")


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
    status = 0
    for number in range(1, args.messages + 1):
        label = (f"message {number} of {args.messages}, client {args.client_index}"
                 if args.messages > 1 or args.client_index else "")
        status = max(status, _deliver(args, policy, build_message(args.sender, recipients, label)))
    return status


def _deliver(args: argparse.Namespace, policy: Policy, message: EmailMessage) -> int:
    """Send one message with retries; 0 delivered, 2 refused for good, 1 gave up."""
    try:
        attempts = send_with_retries(args.host, args.port, message, policy, tls=args.tls,
                                     cafile=args.cafile, log=True,
                                     login=(args.user, args.password) if args.user else None)
    except PermanentFailure as error:
        print(f"permanent failure, not retrying: {error}", file=sys.stderr)
        return 2
    except (OSError, smtplib.SMTPException) as error:
        print(f"gave up after {policy.max_attempts} attempts: {error!r}", file=sys.stderr)
        return 1
    print(f"delivered after {attempts} attempt(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
