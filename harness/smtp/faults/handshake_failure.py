"""``handshake-failure``: answer the TLS ClientHello with garbage, then close; or, with
``plaintext``, do no TLS at all and serve SMTP in clear.

The server advertised TLS but cannot do it. A client must not carry on in cleartext
(RFC 3207 §4.1, RFC 8314 §5); retrying later, over TLS, is fine. A plaintext server on
the implicit-TLS port stays plaintext on every attempt it is planned for, so a client
that retries without TLS really delivers in clear there, where a verdict sees it
(RFC 8314 §3.3, §5).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.attempts import Phase
from harness.errors import InvalidFaultPlan
from harness.smtp.faults.base import Action, Fault, FaultContext, Garbage, Plaintext
from harness.smtp.faults.shape import setting

GARBAGE = b"this is not a TLS record\r\n"


@dataclass(frozen=True, kw_only=True)
class HandshakeFailure(Fault):
    """At ``tls``: send ``data`` instead of a ServerHello and close. With ``plaintext``:
    no handshake; on the implicit-TLS port the server greets in clear, after STARTTLS it
    reads on in clear, and a client that speaks plaintext is served."""

    data: bytes = setting(
        "latin1", "The bytes to send, one a character; true for the default garbage.",
        default=GARBAGE)
    plaintext: bool = setting(
        "flag", "Serve SMTP in clear instead of TLS (a plaintext server on the"
        " implicit-TLS port).", default=False)
    at: Phase = "tls"

    kind = "handshake-failure"
    rfc = "RFC 8446 §6, RFC 8314 §3.3"
    beside = ("plaintext",)
    phases = ("tls",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.plaintext and self.data != GARBAGE:
            raise InvalidFaultPlan(
                "handshake-failure: data and plaintext exclude each other: a plaintext"
                " server sends its own SMTP replies")

    def act(self, ctx: FaultContext) -> Action:
        return Plaintext() if self.plaintext else Garbage(self.data)

    def describe(self) -> str:
        return "handshake-failure: plaintext server" if self.plaintext else self.kind
