"""``close``: end the connection with a FIN and no reply."""

from __future__ import annotations

from dataclasses import dataclass

from harness.smtp.faults.base import Action, Disconnect, Fault, FaultContext


@dataclass(frozen=True, kw_only=True)
class Close(Fault):
    """Close cleanly without answering; RFC 5321 §3.8 asks the client to treat it as 451."""

    kind = "close"
    rfc = "RFC 5321 §3.8"

    def act(self, ctx: FaultContext) -> Action:
        return Disconnect(reset=False)
