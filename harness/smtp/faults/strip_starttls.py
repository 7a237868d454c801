"""``strip-starttls``: remove STARTTLS from the EHLO capabilities (a downgrade attack).

An attacker on the path deletes the capability; a client that requires TLS must then
stop before AUTH or MAIL instead of carrying on in cleartext (RFC 3207 §6, RFC 8314 §5).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.attempts import Phase
from harness.smtp.faults.base import Action, EditCapabilities, Fault, FaultContext


@dataclass(frozen=True, kw_only=True)
class StripStartTLS(Fault):
    """At ``ehlo`` before TLS: leave STARTTLS out of the capability list; a STARTTLS sent
    anyway gets ``502``, as from the attacker who stripped it."""

    at: Phase = "ehlo"

    kind = "strip-starttls"
    rfc = "RFC 3207 §6, RFC 8314 §5"
    phases = ("ehlo",)

    def act(self, ctx: FaultContext) -> Action | None:
        return None if ctx.tls else EditCapabilities(remove=("STARTTLS",))
