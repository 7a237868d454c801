"""``store-then-drop``: keep the message, then drop the connection before the ``250``.

This is RFC 1047's synchronisation gap: the server has accepted responsibility
(RFC 5321 §4.2.5) but the client never hears it, so a retry delivers a second copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.attempts import Phase
from harness.smtp.faults.base import Action, Fault, FaultContext, StoreAndDisconnect


@dataclass(frozen=True, kw_only=True)
class StoreThenDrop(Fault):
    """At ``dot``: store the message, then close without replying."""

    at: Phase = "dot"

    kind = "store-then-drop"
    rfc = "RFC 5321 §6.1, RFC 1047"
    phases = ("dot",)

    def act(self, ctx: FaultContext) -> Action:
        return StoreAndDisconnect()
