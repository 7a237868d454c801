"""Send one message through Django's SMTP backend (settings.py beside this file), with
up to SEND_ATTEMPTS attempts (default 8).

Exit code: 0 delivered, 1 gave up after transient failures, 2 permanent failure.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from django.core.mail import EmailMessage  # noqa: E402
from mailer import Permanent, send_with_retries  # noqa: E402


def main() -> int:
    message = EmailMessage("Welcome", "Hello from Django.\n", to=["user@example.org"])
    try:
        attempt = send_with_retries(message, int(os.environ.get("SEND_ATTEMPTS", "8")))
    except Permanent as error:
        print(f"permanent failure: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        print(f"gave up: {error!r}", file=sys.stderr)
        return 1
    print(f"delivered on attempt {attempt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
