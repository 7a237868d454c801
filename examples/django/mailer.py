"""Sending mail from Django with retries done right.

Django's SMTP backend sends; it does not retry. ``send_with_retries`` opens a new
connection per attempt, retries transient failures (4yz, drops, resets, timeouts) with
exponential backoff and full jitter, stops at once on permanent ones (5yz, a certificate
that does not verify, STARTTLS not offered), and keeps one Message-ID for every attempt.
In a web request, call it from a task queue (Celery, RQ, django-tasks), not inline.
"""

from __future__ import annotations

import random
import smtplib
import ssl
import time
from email.utils import make_msgid
from functools import cached_property

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends import smtp
from django.core.mail.utils import DNS_NAME


class Permanent(Exception):
    """Retrying would not help: the server (or the certificate) said no for good."""


class VerifyingEmailBackend(smtp.EmailBackend):
    """Django's backend, verifying the server against ``EMAIL_CAFILE`` when it is set
    (Django's own has no setting for a private CA; it uses the system's)."""

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        cafile = getattr(settings, "EMAIL_CAFILE", "") or None
        context = ssl.create_default_context(cafile=cafile)
        if self.ssl_certfile or self.ssl_keyfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context


def classify(error: Exception) -> Exception:
    """The error itself if it is worth a retry; a Permanent otherwise."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return Permanent(f"certificate rejected: {error.verify_message}")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Permanent(f"{error}; not sending in clear")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return error if any(400 <= c < 500 for c in codes) else Permanent(str(error))
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        return Permanent(f"{error.smtp_code} {error.smtp_error!r}")
    return error


def send_with_retries(message: EmailMessage, attempts: int = 8) -> int:
    """Send ``message``; return the attempt it took. Raises Permanent, or the last
    transient error once ``attempts`` are used up."""
    message.extra_headers.setdefault("Message-ID", make_msgid(domain=str(DNS_NAME)))
    for attempt in range(1, attempts + 1):
        try:
            # A new connection per attempt: a dropped one is never reused.
            message.connection = get_connection(fail_silently=False)
            message.send()
            return attempt
        except (OSError, smtplib.SMTPException) as error:
            failure = classify(error)
        if isinstance(failure, Permanent) or attempt == attempts:
            raise failure
        time.sleep(random.uniform(0, min(10.0, 0.2 * 2 ** (attempt - 1))))  # full jitter
    raise AssertionError("unreachable")
