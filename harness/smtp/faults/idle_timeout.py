"""``idle-timeout``: a pooled connection reused after an idle spell finds it closed.

Servers close connections left idle between messages, often with an asynchronous
``421 4.4.2 Idle timeout`` that the client reads "after the next command is issued"
(RFC 5321 §3.8), or by resetting them. From the client's side both look like this
fault: the connection served ``after`` transactions, and the next one's MAIL FROM is
answered ``421 4.4.2`` and the connection closed (FIN), or, with ``reset``, the
connection is reset instead. The client must send that message again on a **new**
connection, and never report it as refused for good or as "no recipients"
(MailKit#776, letsencrypt/boulder#2262, chatmail/filtermail#143).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.attempts import Phase
from harness.replies import SMTPReply
from harness.smtp.faults._checks import keep_reply
from harness.smtp.faults.base import Action, Disconnect, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting

IDLE_TIMEOUT = SMTPReply(421, "Idle timeout, closing connection", "4.4.2")


@dataclass(frozen=True, kw_only=True)
class IdleTimeout(Fault):
    """At ``mail``: once a connection has carried ``after`` transactions, answer the
    next MAIL FROM with ``reply`` and close, or reset the connection (``reset``)."""

    after: int = setting("positive-count", "Transactions a connection carries before it"
                         " is closed as idle.", default=1)
    reset: bool = setting("flag", "Reset the connection (RST) instead of the 421 and FIN.",
                          default=False)
    reply: SMTPReply | str | Sequence[str] = setting(
        "reply", "What the server says as it closes.", default=IDLE_TIMEOUT)
    at: Phase = "mail"
    parsed: SMTPReply = field(init=False, repr=False, compare=False)

    kind = "idle-timeout"
    phases = ("mail",)
    rfc = "RFC 5321 §3.8"

    def __post_init__(self) -> None:
        super().__post_init__()
        keep_reply(self, self.reply)

    def act(self, ctx: FaultContext) -> Action | None:
        carried = ctx.state.get(ctx.attempt, 0)
        ctx.state[ctx.attempt] = carried + 1
        if carried < self.after:
            return None
        if self.reset:
            return Disconnect(reset=True)
        return Send(self.parsed, then_close=True)

    def describe(self) -> str:
        how = "reset" if self.reset else self.parsed.wire_lines()[0]
        return f"idle-timeout after {self.after} transaction(s): {how}"
