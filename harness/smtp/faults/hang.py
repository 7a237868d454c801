"""``hang``: never answer, keep the connection open.

``when`` limits it to one side of STARTTLS: at ``ehlo`` with ``after-tls`` the server
ignores the EHLO sent over TLS and only that one, the case of a client that must wait
for the post-TLS capabilities rather than go on with those learnt before (RFC 3207 §4.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.smtp.faults.base import (
    WHEN,
    Action,
    Fault,
    FaultContext,
    Stall,
    When,
    check_when,
    in_stage,
)
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class Hang(Fault):
    """Stop answering and stop reading. A client without timeouts hangs with it
    (RFC 5321 §4.5.3.2: a client MUST provide a timeout mechanism)."""

    when: When = setting("choice", "When in the session it hangs: before-tls, after-tls"
                         " or always; true for always.", default="always", choices=WHEN)

    kind = "hang"
    rfc = "RFC 5321 §4.5.3.2, RFC 3207 §4.2"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_when(self.kind, self.when)

    def act(self, ctx: FaultContext) -> Action | None:
        return Stall() if in_stage(self.when, ctx) else None

    def describe(self) -> str:
        return self.kind if self.when == "always" else f"{self.kind} {self.when}"
