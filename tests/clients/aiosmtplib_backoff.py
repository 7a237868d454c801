"""Correct: aiosmtplib (asyncio) with capped exponential backoff and equal jitter, a
timeout on every command, STARTTLS required and verified, no retry after a 5yz."""

from __future__ import annotations

import asyncio
import functools
import random
import ssl
import sys

import aiosmtplib

from harness.clients import Target
from tests.clients._common import (
    RECIPIENT,
    SENDER,
    Permanent,
    Policy,
    credentials,
    main,
    message,
)

POLICY = Policy()


def _permanent(error: BaseException) -> bool:
    if isinstance(error, Permanent | ssl.SSLCertVerificationError):
        return True
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients]
        return bool(codes) and all(c // 100 == 5 for c in codes)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code // 100 == 5
    return False


@functools.lru_cache(maxsize=4)
def _context(cafile: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile or None)


async def send_once(target: Target, data: bytes) -> None:
    ctx = _context(target.cafile)
    smtp = aiosmtplib.SMTP(hostname=target.host, port=target.port, timeout=POLICY.timeout_s,
                           use_tls=target.tls == "implicit", start_tls=False,
                           tls_context=ctx, local_hostname="zoo")
    try:
        await smtp.connect()
    except BaseException:
        smtp.close()  # a refused greeting leaves the transport open otherwise
        raise
    try:
        await smtp.ehlo()
        if target.tls == "starttls":
            if not smtp.supports_extension("starttls"):
                raise Permanent("the server offers no STARTTLS; not sending in clear")
            await smtp.starttls(tls_context=ctx)
            await smtp.ehlo()  # what it knew before TLS is void (RFC 3207 §4.2): AUTH, say
        if target.tls != "none" and smtp.supports_extension("auth"):
            await smtp.login(*credentials(target))
        # mail/rcpt/data rather than sendmail, which sends RSET after a failure: after a
        # 421 the channel is closed (RFC 5321 §3.8), a property test caught it
        await smtp.mail(SENDER)
        await smtp.rcpt(RECIPIENT)
        await smtp.data(data)
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()
        await asyncio.sleep(0)  # let the transport finish closing before the loop ends


async def send_async(target: Target, rng: random.Random | None = None) -> int:
    rng = rng or random.Random()
    data = message()
    for attempt in range(1, POLICY.max_attempts + 1):
        try:
            await send_once(target, data)
            return attempt
        except (aiosmtplib.SMTPException, OSError, Permanent) as error:
            if _permanent(error) or attempt == POLICY.max_attempts:
                raise
        envelope = min(POLICY.cap_s, POLICY.initial_s * POLICY.factor ** (attempt - 1))
        await asyncio.sleep(rng.uniform(0.75 * envelope, envelope))
    raise AssertionError("unreachable")


def send(target: Target) -> int:
    return asyncio.run(send_async(target))


if __name__ == "__main__":
    sys.exit(main(send))
