"""``reply``: answer with a chosen reply instead of the normal one.

A 421 also closes the connection, as RFC 5321 §3.8 says a server does after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.replies import SMTPReply
from harness.smtp.faults._checks import keep_reply
from harness.smtp.faults.base import Action, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class Reply(Fault):
    """Send ``reply`` (e.g. ``"451 4.7.1 Try again later"``) at the phase.

    At ``dot``, a 2yz reply means the server accepted the message, so it is stored.
    ``then_close`` closes the connection right after the reply (e.g. close after ``250``).
    """

    reply: SMTPReply | str | Sequence[str] = setting(
        "reply", "The reply, e.g. '421 4.7.0 Try again later'.")
    then_close: bool = setting("flag", "Close the connection after the reply.", default=False)
    occurrence: int = setting(
        "count", "Only the Nth time it applies in the run, counted over every attempt (2: the"
        " second MAIL FROM, whichever connection carries it); 0: every time.", default=0)
    parsed: SMTPReply = field(init=False, repr=False, compare=False)

    kind = "reply"
    rfc = "RFC 5321 §4.2, §4.5.4.1"
    beside = ("then_close", "occurrence")
    phases = (
        "connect", "banner", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "body",
        "dot", "quit",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        keep_reply(self, self.reply)

    def act(self, ctx: FaultContext) -> Action | None:
        if self.occurrence:
            ctx.state["seen"] = seen = int(ctx.state.get("seen", 0)) + 1
            if seen != self.occurrence:
                return None
        return Send(self.parsed, then_close=self.then_close or self.parsed.closes_connection)

    def describe(self) -> str:
        nth = f" (occurrence {self.occurrence} only)" if self.occurrence else ""
        return f"reply {self.parsed.wire_lines()[0]}{nth}"
