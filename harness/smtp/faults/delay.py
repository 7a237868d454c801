"""``delay``: wait before answering, then carry on normally (slow banner, tarpit)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.smtp.faults.base import Action, Fault, FaultContext, Pause
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class Delay(Fault):
    """Hold the reply for ``seconds``. At ``body``, stop reading for that long."""

    seconds: float = setting("seconds", "How long to wait before answering.", unit="seconds")

    kind = "delay"
    rfc = "RFC 5321 §4.5.3.2"
    phases = (
        "connect", "banner", "ehlo", "starttls", "tls", "auth", "mail", "rcpt", "data",
        "body", "dot", "quit",
    )

    def act(self, ctx: FaultContext) -> Action:
        return Pause(float(self.seconds))

    def describe(self) -> str:
        return f"delay {self.seconds:g}s"
