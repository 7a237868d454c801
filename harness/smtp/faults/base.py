"""What every fault shares: where it fires (phase), on which attempts, and what it does.

A fault never touches a socket. The server asks it, at a phase of an attempt, for an
:data:`Action`; the server alone carries the action out. That keeps each fault a small
pure object that a unit test drives without sockets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, Protocol

from harness.attempts import PHASES, Attempts, AttemptsLike, Phase
from harness.errors import InvalidFaultPlan
from harness.replies import SMTPReply
from harness.smtp.faults._checks import check_setting

# -- what a fault asks the server to do ------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Send this reply instead of the normal one; close afterwards if ``then_close``."""

    reply: SMTPReply
    then_close: bool = False


@dataclass(frozen=True)
class Pause:
    """Wait, then carry on as normal (slow banner, tarpit)."""

    seconds: float


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without a reply: FIN, or RST when ``reset``."""

    reset: bool = False


@dataclass(frozen=True)
class Stall:
    """Never answer: keep the connection open and stop reading from it."""


@dataclass(frozen=True)
class StoreAndDisconnect:
    """Keep the message, then close before the ``250`` reaches the client."""


@dataclass(frozen=True)
class EditCapabilities:
    """Change the EHLO capability list (remove by keyword, add lines), then carry on."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inject:
    """Send these reply lines in the same packet as ``220 Ready to start TLS``."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class Garbage:
    """Send these bytes instead of a TLS handshake, then close."""

    data: bytes


@dataclass(frozen=True)
class Plaintext:
    """Do no TLS at all: carry on as a plaintext server (greet on the implicit-TLS port,
    read on in clear after STARTTLS)."""


Action = (
    Send | Pause | Disconnect | Stall | StoreAndDisconnect | EditCapabilities | Inject | Garbage
    | Plaintext
)
CONTINUES = (Pause, EditCapabilities, Inject)
"""Actions after which the server carries on with its normal behaviour."""


# -- what a fault may look at ------------------------------------------------------------


class ServerView(Protocol):
    """The little a stateful fault may know about the server as a whole."""

    def open_before(self, attempt: int) -> int:
        """Connections accepted before ``attempt`` and still held."""
        ...

    def accepted_message_times(self) -> Sequence[float]: ...


@dataclass
class FaultContext:
    """The moment a fault is consulted: which attempt, which phase, what was asked."""

    attempt: int
    phase: Phase
    now: float
    tls: bool = False
    argument: str = ""
    address: str | None = None
    peer_host: str = ""
    mail_from: str | None = None
    rcpt_tos: tuple[str, ...] = ()
    server: ServerView | None = None
    state: dict[Any, Any] = field(default_factory=dict)
    random: random.Random = field(default_factory=random.Random)


When = Literal["before-tls", "after-tls", "always"]
"""Which part of a session a fault limited by TLS applies to (``capabilities``, ``hang``):
the EHLO before STARTTLS and the one after it are both at ``ehlo``."""
WHEN: tuple[When, ...] = ("before-tls", "after-tls", "always")


def in_stage(when: When, ctx: FaultContext) -> bool:
    """Whether ``when`` covers the moment ``ctx``: before TLS, after it, or always."""
    return when == "always" or (when == "after-tls") == ctx.tls


def check_when(kind: str, when: object) -> None:
    if when not in WHEN:
        raise InvalidFaultPlan(
            f"{kind}: when={when!r} is not allowed; allowed: {', '.join(WHEN)}")


# -- the fault envelope ------------------------------------------------------------------

SETTING = "harness.setting"
"""The dataclass-field metadata key of a kind's setting, ``(value type, doc, unit,
choices)``, as :func:`harness.smtp.faults.shape.setting` writes it; numbers are checked
against their value type when a fault is built."""

REGISTRY: dict[str, type[Fault]] = {}
"""Every fault kind by its name; a kind's class adds itself when it is defined
(:mod:`harness.smtp.faults.registry` imports them all)."""



@dataclass(frozen=True, kw_only=True)
class Fault:
    """A fault at a phase, for some attempts, optionally matching the command argument.

    ``probability`` draws from the run's seed, so the same seed gives the same faults.
    ``after_bytes`` is for the ``body`` phase: the fault fires once that many bytes of
    message content have arrived.
    """

    at: Phase
    attempts: AttemptsLike = field(default="all", compare=False)
    match: str | None = None
    probability: float = 1.0
    after_bytes: int | None = None
    selector: Attempts = field(init=False, repr=False)
    """The parsed ``attempts``: faults compare by it, so ``[1]``, ``1`` and ``"1"`` agree."""

    kind: ClassVar[str] = "fault"
    """The kind's name, which is also its key in a scenario file's ``faults:`` item."""
    phases: ClassVar[tuple[Phase, ...]] = PHASES
    """The phases ``at`` may name."""
    rfc: ClassVar[str] = ""
    """The reference behind the kind, for the reference page (``RFC 5321 §3.8``)."""
    beside: ClassVar[tuple[str, ...]] = ()
    """Settings written next to the kind key in a scenario file, not under it."""
    shorthand: ClassVar[str | None] = None
    """For a kind of several settings: the one its key's value may give alone."""

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        if "kind" in cls.__dict__:
            REGISTRY[cls.kind] = cls

    def __post_init__(self) -> None:
        if self.at not in PHASES:
            raise InvalidFaultPlan(
                f"{self.kind}: at={self.at!r} is not a phase; allowed: {', '.join(PHASES)}"
            )
        if self.at not in self.phases:
            raise InvalidFaultPlan(
                f"{self.kind}: at={self.at!r} is not a phase this fault can fire at;"
                f" allowed: {', '.join(self.phases)}"
            )
        if isinstance(self.probability, bool) or not (
            isinstance(self.probability, (int, float)) and 0.0 <= self.probability <= 1.0
        ):
            raise InvalidFaultPlan(
                f"{self.kind}: probability={self.probability!r} is out of range;"
                " allowed: a number from 0 to 1"
            )
        if self.at == "body":
            if not isinstance(self.after_bytes, int) or self.after_bytes < 0:
                raise InvalidFaultPlan(
                    f"{self.kind}: at='body' needs after_bytes, the byte count of message"
                    f" content after which it fires (an integer >= 0); got {self.after_bytes!r}"
                )
        elif self.after_bytes is not None:
            raise InvalidFaultPlan(
                f"{self.kind}: after_bytes is only for at='body'; got at={self.at!r}"
            )
        for f in fields(self):
            if SETTING in f.metadata:
                check_setting(self.kind, f.name, f.metadata[SETTING][0], getattr(self, f.name))
        object.__setattr__(self, "selector", Attempts.parse(self.attempts))

    def selects(self, ctx: FaultContext) -> bool:
        """Whether this fault applies here; the probability draw comes last."""
        if ctx.phase != self.at or ctx.attempt not in self.selector:
            return False
        if self.match is not None and self.match.lower() not in ctx.argument.lower():
            return False
        return self.probability >= 1.0 or ctx.random.random() < self.probability

    def act(self, ctx: FaultContext) -> Action | None:
        """The action to take, or None to let the server behave normally."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for the timeline: what fired."""
        return self.kind
