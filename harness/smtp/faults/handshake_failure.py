"""``handshake-failure``: answer the TLS ClientHello with garbage, then close.

The server advertised TLS but cannot do it. A client must not carry on in cleartext
(RFC 3207 §4.1, RFC 8314 §5); retrying later, over TLS, is fine.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.attempts import Phase
from harness.smtp.faults.base import Action, Fault, FaultContext, Garbage
from harness.smtp.faults.shape import setting

GARBAGE = b"this is not a TLS record\r\n"


@dataclass(frozen=True, kw_only=True)
class HandshakeFailure(Fault):
    """At ``tls``: send ``data`` instead of a ServerHello and close."""

    data: bytes = setting(
        "latin1", "The bytes to send, one a character; true for the default garbage.",
        default=GARBAGE)
    at: Phase = "tls"

    kind = "handshake-failure"
    rfc = "RFC 8446 §6"
    phases = ("tls",)

    def act(self, ctx: FaultContext) -> Action:
        return Garbage(self.data)
