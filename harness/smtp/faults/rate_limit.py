"""``rate-limit``: 421 to MAIL once K messages were accepted within a sliding window."""

from __future__ import annotations

from dataclasses import dataclass

from harness.attempts import Phase
from harness.replies import S421_RATE_LIMITED
from harness.smtp.faults.base import Action, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class RateLimit(Fault):
    """Answer ``421 4.7.0`` to MAIL FROM after ``messages`` accepted in ``window_s`` seconds."""

    messages: int = setting("positive-count", "Messages accepted within the window.")
    window_s: float = setting("seconds", "The window's length.", unit="seconds")
    at: Phase = "mail"

    kind = "rate-limit"
    rfc = "RFC 5321 §4.5.4.1"
    phases = ("mail",)

    def act(self, ctx: FaultContext) -> Action | None:
        if ctx.server is None:
            return None
        since = ctx.now - self.window_s
        recent = sum(1 for t in ctx.server.accepted_message_times() if t >= since)
        if recent >= self.messages:
            return Send(S421_RATE_LIMITED, then_close=True)
        return None

    def describe(self) -> str:
        return f"rate-limit {self.messages}/{self.window_s:g}s"
