"""Send one message with aiosmtplib, with retries done right.

aiosmtplib sends; it does not retry, and by default (``start_tls=None``) it upgrades to
TLS only when the server advertises STARTTLS, so a stripped STARTTLS means plaintext.
This wrapper requires STARTTLS (``start_tls=True``), sets a timeout on every command,
retries transient failures (4yz, drops, resets, timeouts) with exponential backoff and
full jitter, and stops at once on permanent ones (5yz, a certificate that does not
verify, no STARTTLS).

    python examples/aiosmtplib/send.py --host {host} --port {port} --tls {tls} --cafile {cafile}

``--opportunistic-tls`` keeps aiosmtplib's default, to show what it costs.
Exit code: 0 delivered, 1 gave up after transient failures, 2 permanent failure.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import ssl
import sys
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib


class Permanent(Exception):
    """Retrying would not help: the server (or the certificate) said no for good."""


def classify(error: BaseException) -> BaseException:
    """The error itself if it is worth a retry; a Permanent otherwise."""
    cause: BaseException | None = error
    while cause is not None:  # aiosmtplib wraps the ssl error of a failed handshake
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Permanent(f"certificate rejected: {cause.verify_message}")
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        return error if any(400 <= c < 500 for c in codes) else Permanent(str(error))
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 500:
        return Permanent(f"{error.code} {error.message}")
    if isinstance(error, aiosmtplib.SMTPException) and "STARTTLS" in str(error):
        return Permanent(f"{error}; not sending in clear")  # required but not offered
    return error  # 4yz, disconnects, timeouts, resets, TLS handshake failures


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="starttls")
    parser.add_argument("--cafile", default="", help="CA bundle to trust (default: system)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per command, seconds")
    parser.add_argument("--attempts", type=int, default=8)
    parser.add_argument("--opportunistic-tls", action="store_true",
                        help="aiosmtplib's default: STARTTLS only if advertised (unsafe)")
    args = parser.parse_args()

    message = EmailMessage()
    message["From"] = "app@example.org"
    message["To"] = "user@example.org"
    message["Subject"] = "Welcome"
    message["Message-ID"] = make_msgid(domain="example.org")  # one id for every attempt
    message.set_content("Hello from aiosmtplib.\n")

    start_tls: bool | None = args.tls == "starttls"
    if args.opportunistic_tls and args.tls != "implicit":
        start_tls = None
    for attempt in range(1, args.attempts + 1):
        try:
            await aiosmtplib.send(
                message, hostname=args.host, port=args.port, timeout=args.timeout,
                use_tls=args.tls == "implicit", start_tls=start_tls,
                validate_certs=True, cert_bundle=args.cafile or None,
            )
            print(f"delivered on attempt {attempt}")
            return 0
        except (OSError, aiosmtplib.SMTPException) as error:
            failure = classify(error)
        if isinstance(failure, Permanent):
            print(f"permanent failure: {failure}", file=sys.stderr)
            return 2
        if attempt == args.attempts:
            break
        delay = random.uniform(0, min(10.0, 0.2 * 2 ** (attempt - 1)))  # full jitter
        print(f"attempt {attempt}: {failure!r}; retrying in {delay:.2f}s", file=sys.stderr)
        await asyncio.sleep(delay)
    print(f"gave up after {args.attempts} attempts", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
