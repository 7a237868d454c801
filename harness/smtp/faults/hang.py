"""``hang``: never answer, keep the connection open."""

from __future__ import annotations

from dataclasses import dataclass

from harness.smtp.faults.base import Action, Fault, FaultContext, Stall


@dataclass(frozen=True, kw_only=True)
class Hang(Fault):
    """Stop answering and stop reading. A client without timeouts hangs with it
    (RFC 5321 §4.5.3.2: a client MUST provide a timeout mechanism)."""

    kind = "hang"
    rfc = "RFC 5321 §4.5.3.2"

    def act(self, ctx: FaultContext) -> Action:
        return Stall()
