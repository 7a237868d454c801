"""smtplib senders for the end-to-end verdict tests: one correct, the others broken in one
way each, so each verdict is shown to catch the bug it is for."""

from __future__ import annotations

import random
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from harness.timeline import Timeline


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "sender@example.org"
    mail["To"] = "rcpt@example.org"
    mail["Subject"] = "verdicts"
    mail["Message-ID"] = "<verdicts-1@example.org>"
    mail.set_content("hello\n")
    return mail


def full_jitter(initial_s: float, factor: float, cap_s: float, seed: int) -> Callable[[int], float]:
    """Brooker's full jitter: retry n sleeps uniform(0, min(cap, initial · factor^(n-1)))."""
    rng = random.Random(seed)
    return lambda n: rng.uniform(0, min(cap_s, initial_s * factor ** (n - 1)))


@dataclass
class Sender:
    """Sends one message, retrying transient failures after ``delay(n)`` seconds.

    The switches make it wrong on purpose: ``retry_permanent`` retries 5yz replies too;
    ``send_twice`` sends the message again after it was accepted.
    """

    delay: Callable[[int], float]
    max_attempts: int = 6
    retry_permanent: bool = False
    send_twice: bool = False

    def run(self, host: str, port: int) -> int:
        """Returns 0 once delivered, 1 after giving up on transient failures, 2 on a
        permanent one (like a command-line client's exit code)."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._send(host, port)
                if self.send_twice:
                    self._send(host, port)
                return 0
            except smtplib.SMTPRecipientsRefused as error:
                codes = [code for code, _ in error.recipients.values()]
                permanent = all(code // 100 == 5 for code in codes)
            except smtplib.SMTPResponseException as error:
                permanent = error.smtp_code // 100 == 5
            except (OSError, smtplib.SMTPException):
                permanent = False
            if permanent and not self.retry_permanent:
                return 2
            if attempt < self.max_attempts:
                time.sleep(self.delay(attempt))
        return 1

    @staticmethod
    def _send(host: str, port: int) -> None:
        with smtplib.SMTP(host, port, timeout=5) as smtp:
            smtp.send_message(message())


def settled(recorder_wait: Callable[..., Timeline]) -> Timeline:
    """The timeline once every attempt closed (the server sees the last close a moment
    after the client returns)."""
    return recorder_wait(lambda t: bool(t.attempts) and all(a.end_ns for a in t.attempts), 10.0)
