"""Send one message with Python's smtplib, with retries done right.

smtplib sends; it does not retry. This wrapper adds what it lacks: a timeout on every
command, a retry with exponential backoff and full jitter on transient failures (4yz
replies, dropped or reset connections, timeouts), no retry on permanent ones (5yz, a
certificate that does not verify, STARTTLS not offered when it is required), and the
same Message-ID on every attempt so a duplicate can be recognised downstream.

    python examples/smtplib/send.py --host {host} --port {port} --tls {tls} --cafile {cafile}

Exit code: 0 delivered, 1 gave up after transient failures, 2 permanent failure.
"""

from __future__ import annotations

import argparse
import random
import smtplib
import ssl
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid


class Permanent(Exception):
    """Retrying would not help: the server (or the certificate) said no for good."""


def send_once(args: argparse.Namespace, message: EmailMessage) -> None:
    context = ssl.create_default_context(cafile=args.cafile or None)
    if args.tls == "implicit":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(args.host, args.port, timeout=args.timeout,
                                              context=context)
    else:
        smtp = smtplib.SMTP(args.host, args.port, timeout=args.timeout)
    with smtp:
        code, text = smtp.ehlo()  # not smtplib's own greeting: on a 421 it falls back to
        if code != 250:           # HELO on the connection the server just closed
            raise smtplib.SMTPHeloError(code, text)
        if args.tls == "starttls":
            if not smtp.has_extn("starttls"):
                raise Permanent("the server offers no STARTTLS; not sending in clear")
            smtp.starttls(context=context)  # raises on anything but 220
        refused = smtp.send_message(message)
        if refused:  # some recipients accepted: the message is delivered to them
            print(f"refused recipients: {refused}", file=sys.stderr)


def classify(error: Exception) -> Exception:
    """The error itself if it is worth a retry; a Permanent otherwise."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return Permanent(f"certificate rejected: {error.verify_message}")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return error if any(400 <= c < 500 for c in codes) else Permanent(str(error))
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        return Permanent(f"{error.smtp_code} {error.smtp_error!r}")
    return error  # 4yz, SMTPServerDisconnected, timeouts, resets, TLS handshake failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="starttls")
    parser.add_argument("--cafile", default="", help="CA bundle to trust (default: system)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per command, seconds")
    parser.add_argument("--attempts", type=int, default=8)
    parser.add_argument("--from", dest="sender", default="app@example.org")
    parser.add_argument("--to", dest="recipients", action="append")
    args = parser.parse_args()

    message = EmailMessage()
    message["From"] = args.sender
    message["To"] = ", ".join(args.recipients or ["user@example.org"])
    message["Subject"] = "Welcome"
    message["Message-ID"] = make_msgid(domain="example.org")  # one id for every attempt
    message.set_content("Hello from smtplib.\n")

    for attempt in range(1, args.attempts + 1):
        try:
            send_once(args, message)
            print(f"delivered on attempt {attempt}")
            return 0
        except (OSError, smtplib.SMTPException, Permanent) as error:
            failure = error if isinstance(error, Permanent) else classify(error)
        if isinstance(failure, Permanent):
            print(f"permanent failure: {failure}", file=sys.stderr)
            return 2
        if attempt == args.attempts:
            break
        delay = random.uniform(0, min(10.0, 0.2 * 2 ** (attempt - 1)))  # full jitter
        print(f"attempt {attempt}: {failure!r}; retrying in {delay:.2f}s", file=sys.stderr)
        time.sleep(delay)
    print(f"gave up after {args.attempts} attempts", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
