"""``stop-reading``: stop reading mid-DATA, so the client's writes fill the TCP window.

Unlike ``hang`` (which keeps reading and discards), the server reads nothing more: the
kernel's buffers fill, the client's send blocks, and only its own timeout ends the wait
(RFC 5321 §4.5.3.2.5 gives a client 3 minutes per data block).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.attempts import Phase
from harness.smtp.faults.base import Action, Fault, FaultContext, Pause


@dataclass(frozen=True, kw_only=True)
class StopReading(Fault):
    """At ``body``, once ``after_bytes`` of content arrived: never read again; the
    connection stays open until the client closes it or the server stops."""

    at: Phase = "body"

    kind = "stop-reading"
    phases = ("body",)
    rfc = "RFC 5321 §4.5.3.2.5"

    def act(self, ctx: FaultContext) -> Action:
        return Pause(math.inf)

    def describe(self) -> str:
        return f"stop-reading after {self.after_bytes} bytes"
