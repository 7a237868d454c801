"""``auth-failure``: refuse the client's AUTH with a failure reply RFC 4954 names.

``535 5.7.8`` says the credentials are wrong: retrying them unchanged cannot succeed.
``454 4.7.0`` is a temporary failure: the client may try again later (RFC 4954 §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.attempts import Phase
from harness.errors import InvalidFaultPlan
from harness.replies import SMTPReply
from harness.smtp.faults._checks import keep_reply
from harness.smtp.faults.base import Action, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting

AUTH_FAILURE_CODES = (432, 454, 500, 501, 504, 530, 534, 535, 538)
"""The failure replies to AUTH in RFC 4954 §4 and §6."""
BAD_CREDENTIALS = SMTPReply(535, "Authentication credentials invalid", "5.7.8")


@dataclass(frozen=True, kw_only=True)
class AuthFailure(Fault):
    """At ``auth``: answer the AUTH command with ``reply`` (default ``535 5.7.8``), a
    failure reply RFC 4954 names, instead of running the exchange."""

    reply: SMTPReply | str | Sequence[str] = setting(
        "reply", "The failure, e.g. '454 4.7.0 Temporary authentication failure'.",
        default=BAD_CREDENTIALS, choices=[str(code) for code in AUTH_FAILURE_CODES])
    at: Phase = "auth"
    parsed: SMTPReply = field(init=False, repr=False, compare=False)

    kind = "auth-failure"
    phases = ("auth",)
    rfc = "RFC 4954 §4, §6"

    def __post_init__(self) -> None:
        super().__post_init__()
        parsed = keep_reply(self, self.reply)
        if parsed.code not in AUTH_FAILURE_CODES:
            raise InvalidFaultPlan(
                f"auth-failure: {parsed.code} is not a failure reply to AUTH; allowed:"
                f" {', '.join(map(str, AUTH_FAILURE_CODES))} (RFC 4954 §4, §6)"
            )

    def act(self, ctx: FaultContext) -> Action:
        return Send(self.parsed, then_close=self.parsed.closes_connection)

    def describe(self) -> str:
        return f"auth-failure {self.parsed.wire_lines()[0]}"
