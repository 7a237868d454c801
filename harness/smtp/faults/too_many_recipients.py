"""``too-many-recipients``: accept at most N recipients per transaction, ``452`` beyond.

A server's recipient buffer has a limit; past it, RCPT gets ``452 4.5.3 Too many
recipients`` (RFC 5321 §4.5.3.1.10, which corrects RFC 821's 552; RFC 3463 §3.6). The
recipients accepted so far go with the message, and the client sends it to the rest in
a later transaction: a 452 is transient, and a recipient left over is not a recipient
refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.attempts import Phase
from harness.replies import SMTPReply
from harness.smtp.faults.base import Action, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting

TOO_MANY = SMTPReply(452, "Too many recipients", "4.5.3")


@dataclass(frozen=True, kw_only=True)
class TooManyRecipients(Fault):
    """At ``rcpt``: answer ``452 4.5.3`` once the transaction has ``max_recipients``
    accepted recipients; up to then RCPT goes on as normal."""

    max_recipients: int = setting("positive-count", "Recipients accepted per transaction.")
    at: Phase = "rcpt"

    kind = "too-many-recipients"
    phases = ("rcpt",)
    rfc = "RFC 5321 §4.5.3.1.10, RFC 3463 §3.6"

    def act(self, ctx: FaultContext) -> Action | None:
        if len(ctx.rcpt_tos) < self.max_recipients:
            return None
        return Send(TOO_MANY)

    def describe(self) -> str:
        return f"too-many-recipients {self.max_recipients}: {TOO_MANY.wire_lines()[0]}"
