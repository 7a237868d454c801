"""``capabilities``: change what EHLO advertises, before TLS, after it, or both.

Covers the STARTTLS attacks on capability lists: capabilities that differ before and after
TLS (a client must use only the post-TLS list, RFC 3207 §4.2), STARTTLS advertised again
after TLS, and AUTH offered in cleartext before STARTTLS (RFC 8314 §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.attempts import Phase
from harness.errors import InvalidFaultPlan
from harness.smtp.faults.base import (
    WHEN,
    Action,
    EditCapabilities,
    Fault,
    FaultContext,
    When,
    check_when,
    in_stage,
)
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class Capabilities(Fault):
    """At ``ehlo``: add capability lines (``"AUTH PLAIN LOGIN"``) and remove others by
    keyword (``"STARTTLS"``, ``"SIZE"``), ``when`` the session is before or after TLS."""

    add: Sequence[str] = setting("lines", "Lines to add, e.g. 'AUTH PLAIN'.", default=())
    remove: Sequence[str] = setting(
        "lines", "Keywords to remove, e.g. 'SIZE'.", default=())
    when: When = setting("choice", "When the edit applies.", default="always",
                         choices=WHEN)
    at: Phase = "ehlo"

    kind = "capabilities"
    rfc = "RFC 5321 §4.1.1.1"
    phases = ("ehlo",)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_when(self.kind, self.when)
        for line in (*self.add, *self.remove):
            if not isinstance(line, str) or not line.strip() or "\n" in line:
                raise InvalidFaultPlan(f"capabilities: {line!r} is not one capability line")
        object.__setattr__(self, "add", tuple(self.add))
        object.__setattr__(self, "remove", tuple(self.remove))

    def act(self, ctx: FaultContext) -> Action | None:
        if not in_stage(self.when, ctx):
            return None
        return EditCapabilities(add=tuple(self.add), remove=tuple(self.remove))

    def describe(self) -> str:
        changes = [f"+{line}" for line in self.add] + [f"-{word}" for word in self.remove]
        return f"capabilities {self.when}: {' '.join(changes)}"
