"""The mail settings of a Django site, taken from the environment (nothing else is needed
to send mail). ``harness run`` fills the variables in:

    env EMAIL_HOST={host} EMAIL_PORT={port} EMAIL_TLS={tls} EMAIL_CAFILE={cafile} \\
        python examples/django/send.py
"""

import os

SECRET_KEY = "example-only"
USE_TZ = True
INSTALLED_APPS: list[str] = []

EMAIL_BACKEND = "mailer.VerifyingEmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
# none | starttls | implicit. Django's EMAIL_USE_TLS makes STARTTLS required: without it
# in the server's EHLO reply, smtplib raises and nothing is sent in clear.
_TLS = os.environ.get("EMAIL_TLS", "starttls")
EMAIL_USE_TLS = _TLS == "starttls"
EMAIL_USE_SSL = _TLS == "implicit"
# Django's default is None: no timeout at all, so a server that never answers hangs the
# request (or the worker) for ever. Always set one.
_TIMEOUT = os.environ.get("EMAIL_TIMEOUT", "5")
EMAIL_TIMEOUT = float(_TIMEOUT) if _TIMEOUT else None  # EMAIL_TIMEOUT= : Django's default
# The CA bundle to verify the server with; empty: the system's (see mailer.py).
EMAIL_CAFILE = os.environ.get("EMAIL_CAFILE", "")
DEFAULT_FROM_EMAIL = "app@example.org"
