"""``inject-after-starttls``: extra reply lines in the same packet as ``220 Ready``.

The STARTTLS command injection family (CVE-2011-0411 and its successors): bytes that
arrive in cleartext before the handshake must be thrown away; a client that buffers them
reads them later as the server's answer to its post-TLS EHLO (RFC 3207 §4.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.attempts import Phase
from harness.smtp.faults.base import Action, Fault, FaultContext, Inject
from harness.smtp.faults.shape import setting

INJECTED = ("250-harness.injected", "250 AUTH PLAIN X-INJECTED")


@dataclass(frozen=True, kw_only=True)
class InjectAfterStartTLS(Fault):
    """At ``starttls``: send ``lines`` right after ``220 Ready to start TLS``, same write."""

    lines: Sequence[str] = setting(
        "lines", "The reply lines to inject; true for the default ones.", default=INJECTED)
    at: Phase = "starttls"

    kind = "inject-after-starttls"
    rfc = "RFC 3207 §5 (CVE-2011-0411)"
    phases = ("starttls",)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "lines", tuple(self.lines))

    def act(self, ctx: FaultContext) -> Action:
        return Inject(tuple(self.lines))
