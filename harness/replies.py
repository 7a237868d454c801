"""SMTP replies as typed values, and a catalogue of the ones faults use most.

Verdicts classify transient (4yz) against permanent (5yz) from these values, never by
parsing strings again: RFC 5321 §4.2.1 says the first digit governs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import InvalidFaultPlan

_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_FIRST_LINE = re.compile(r"^(\d{3})(?:[ -](.*))?$", re.DOTALL)


@dataclass(frozen=True)
class SMTPReply:
    """One SMTP reply: a code, an optional enhanced status code (RFC 3463) and text.

    A reply with several ``lines`` is sent multi-line (``250-a``, ``250 b``).
    """

    code: int
    text: str = ""
    enhanced: str | None = None
    lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise InvalidFaultPlan(
                f"reply code {self.code} is not a 2xx-5xx SMTP reply code (allowed: 200-599)"
            )
        if self.enhanced is not None and not _ENHANCED.match(self.enhanced):
            raise InvalidFaultPlan(
                f"enhanced status code {self.enhanced!r} is not of the form class.subject.detail"
                " with class 2, 4 or 5 (RFC 3463), e.g. '4.7.0'"
            )
        for line in (self.text, *self.lines):
            if "\r" in line or "\n" in line:
                raise InvalidFaultPlan(f"reply text {line!r} holds a line break; use `lines`")

    @classmethod
    def of(cls, value: SMTPReply | str | Sequence[str]) -> SMTPReply:
        """``value`` itself when it is a reply already, else :meth:`parse` of it."""
        return value if isinstance(value, SMTPReply) else cls.parse(value)

    @classmethod
    def parse(cls, spec: str | Sequence[str]) -> SMTPReply:
        """Build a reply from ``"421 4.7.0 Try again later"`` or a list of such lines."""
        texts = [spec] if isinstance(spec, str) else list(spec)
        if not texts:
            raise InvalidFaultPlan("a reply needs at least one line, e.g. '421 4.7.0 Busy'")
        codes: set[int] = set()
        bodies: list[str] = []
        for text in texts:
            match = _FIRST_LINE.match(text.strip())
            if not match:
                raise InvalidFaultPlan(
                    f"reply {text!r} does not start with a three-digit code,"
                    " e.g. '451 4.7.1 Try again later'"
                )
            codes.add(int(match.group(1)))
            bodies.append(match.group(2) or "")
        if len(codes) > 1:
            raise InvalidFaultPlan(f"reply lines {texts!r} carry different codes {sorted(codes)}")
        code = codes.pop()
        enhanced = None
        first, _, rest = bodies[0].partition(" ")
        if _ENHANCED.match(first):
            enhanced, bodies[0] = first, rest
        return cls(code, bodies[0], enhanced, tuple(bodies[1:]))

    @property
    def is_transient(self) -> bool:
        """4yz: the client should try again later (RFC 5321 §4.2.1)."""
        return self.code // 100 == 4

    @property
    def is_permanent(self) -> bool:
        """5yz: the client should not repeat the same request (RFC 5321 §4.2.1)."""
        return self.code // 100 == 5

    @property
    def closes_connection(self) -> bool:
        """421 means the server is closing the channel (RFC 5321 §3.8)."""
        return self.code == 421

    def wire_lines(self) -> list[str]:
        """The reply as it goes on the wire, one string per line, without CRLF."""
        first = f"{self.enhanced} {self.text}" if self.enhanced else self.text
        texts = [first, *self.lines]
        last = len(texts) - 1
        return [
            f"{self.code}{' ' if i == last else '-'}{text}".rstrip(" ")
            for i, text in enumerate(texts)
        ]

    def __str__(self) -> str:
        return "\n".join(self.wire_lines())


S221_BYE = SMTPReply(221, "Bye", "2.0.0")
S250_OK = SMTPReply(250, "OK", "2.0.0")
S421_TRY_AGAIN_LATER = SMTPReply(421, "Try again later, closing connection", "4.7.0")
S421_TOO_MANY_CONNECTIONS = SMTPReply(421, "Too many connections, try again later", "4.7.0")
S421_RATE_LIMITED = SMTPReply(421, "Message rate limit exceeded, try again later", "4.7.0")
S450_GREYLISTED = SMTPReply(450, "Greylisted, please try again later", "4.2.0")
S451_LOCAL_ERROR = SMTPReply(451, "Local error in processing", "4.3.0")
S451_GREYLISTED = SMTPReply(451, "Greylisted, try again later", "4.7.1")
S452_INSUFFICIENT_STORAGE = SMTPReply(452, "Insufficient system storage", "4.3.1")
S550_MAILBOX_UNAVAILABLE = SMTPReply(550, "Mailbox unavailable", "5.1.1")
S552_TOO_MUCH_DATA = SMTPReply(552, "Message size exceeds limit", "5.3.4")
S554_TRANSACTION_FAILED = SMTPReply(554, "Transaction failed", "5.7.1")
