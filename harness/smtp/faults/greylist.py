"""``greylist``: temporary failure per (client, sender, recipient) until T seconds pass.

Greylisting (RFC 6647) answers 4yz to the first tries of a triplet; a client that retries
after the window gets through. A client that gives up, or calls it permanent, loses mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.attempts import Phase
from harness.replies import S451_GREYLISTED, SMTPReply
from harness.smtp.faults._checks import keep_reply
from harness.smtp.faults.base import Action, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class Greylist(Fault):
    """At ``rcpt``: answer ``reply`` until ``seconds`` have passed since the triplet's first try."""

    seconds: float = setting("seconds", "How long a triplet stays greylisted.", unit="seconds")
    reply: SMTPReply | str | Sequence[str] = setting(
        "reply", "The temporary failure to answer meanwhile.", default=S451_GREYLISTED)
    at: Phase = "rcpt"
    parsed: SMTPReply = field(init=False, repr=False, compare=False)

    kind = "greylist"
    rfc = "RFC 6647"
    shorthand = "seconds"
    phases = ("rcpt",)

    def __post_init__(self) -> None:
        super().__post_init__()
        keep_reply(self, self.reply)

    def act(self, ctx: FaultContext) -> Action | None:
        triplet = (ctx.peer_host, ctx.mail_from or "", (ctx.address or ctx.argument).lower())
        first_seen = float(ctx.state.setdefault(triplet, ctx.now))
        if ctx.now - first_seen < self.seconds:
            return Send(self.parsed, then_close=self.parsed.closes_connection)
        return None

    def describe(self) -> str:
        return f"greylist {self.seconds:g}s: {self.parsed.wire_lines()[0]}"
