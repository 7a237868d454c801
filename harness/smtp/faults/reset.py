"""``reset``: abort the connection with a TCP RST."""

from __future__ import annotations

from dataclasses import dataclass

from harness.smtp.faults.base import Action, Disconnect, Fault, FaultContext


@dataclass(frozen=True, kw_only=True)
class Reset(Fault):
    """Reset the connection (SO_LINGER 0): the client sees ECONNRESET, not EOF."""

    kind = "reset"
    rfc = "RFC 793 §3.4 (reset)"

    def act(self, ctx: FaultContext) -> Action:
        return Disconnect(reset=True)
