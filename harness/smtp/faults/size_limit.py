"""``size-limit``: refuse a message whose declared size is over a limit, with ``552``.

A client that uses the SIZE extension declares the message's size in MAIL FROM
(``SIZE=12345``); a server whose limit it exceeds answers ``552 5.3.4`` (RFC 1870 §6.1,
RFC 3463 §3.4), a permanent failure: the same message must not be retried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.attempts import Phase
from harness.replies import SMTPReply
from harness.smtp.faults.base import Action, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting

TOO_BIG = SMTPReply(552, "Message size exceeds fixed maximum message size", "5.3.4")
_DECLARED = re.compile(r"(?:^|\s)SIZE=(\d+)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class SizeLimit(Fault):
    """At ``mail``: answer ``552 5.3.4`` when MAIL FROM declares ``SIZE=`` above
    ``max_bytes``; a MAIL FROM without SIZE, or within it, goes on as normal."""

    max_bytes: int = setting("positive-count", "The largest message accepted.", unit="bytes")
    at: Phase = "mail"

    kind = "size-limit"
    phases = ("mail",)
    rfc = "RFC 1870 §6.1, RFC 3463 §3.4"

    def act(self, ctx: FaultContext) -> Action | None:
        declared = _DECLARED.search(ctx.argument)
        if declared is None or int(declared[1]) <= self.max_bytes:
            return None
        return Send(TOO_BIG)

    def describe(self) -> str:
        return f"size-limit {self.max_bytes} bytes: {TOO_BIG.wire_lines()[0]}"
