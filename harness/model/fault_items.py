"""The ``faults:`` section: one item per fault, the fault kind as its key.

::

    faults:
      - {at: banner, reply: "421 4.7.0 Try again later", attempts: [1, 2]}
      - {at: body, after_bytes: 2048, reset: true}
      - {greylist: 2.0}

Each item is checked by building its :mod:`harness.faults` object, so the scenario file
and the Python API accept and refuse exactly the same faults.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import ConfigDict, Discriminator, Field, StrictBool, Tag, model_validator
from pydantic_core import PydanticCustomError

from harness import faults
from harness.errors import InvalidFaultPlan
from harness.faults import Fault, Phase
from harness.model._base import (
    AttemptSelector,
    Count,
    PositiveCount,
    Probability,
    Seconds,
    Strict,
)
from harness.smtp.faults.capabilities import When

ReplyLines = str | tuple[str, ...]
"""``"421 4.7.0 Try again later"``, or a list of such lines for a multi-line reply."""


def _phases_in_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    """Offer in the JSON Schema only the phases the kind's fault can fire at."""
    fault = faults.KINDS.get(getattr(cls, "kind", ""))
    at = schema.get("properties", {}).get("at")
    if fault is None or at is None:
        return
    kept = {k: v for k, v in at.items() if k in ("default", "description", "title")}
    schema["properties"]["at"] = {**kept, "enum": [*fault.phases, *([None] * ("default" in at))]}


class FaultItem(Strict):
    """The keys every fault item may carry besides its kind."""

    model_config = ConfigDict(json_schema_extra=_phases_in_schema)

    at: Phase | None = Field(default=None, description="The phase the fault fires at.")
    attempts: AttemptSelector = "all"
    match: str | None = Field(
        default=None, description="Fire only when the command argument contains this text."
    )
    probability: Probability = Field(
        default=1.0, description="Chance (0 to 1) that the fault fires, drawn from the run's seed."
    )
    after_bytes: Count | None = Field(
        default=None, description="For at: body, the bytes of message content before it fires."
    )

    kind: ClassVar[str]
    """The fault kind, which is also this item's own key."""

    def _settings(self) -> dict[str, Any]:
        """The keyword arguments of the fault object particular to this kind."""
        return {}

    def to_fault(self) -> Fault:
        """The :mod:`harness.faults` object this item describes."""
        common = self.model_dump(include={"at", "match", "after_bytes"}, exclude_none=True)
        return faults.KINDS[self.kind](
            attempts=self.attempts, probability=self.probability, **common, **self._settings()
        )

    @model_validator(mode="after")
    def _builds(self) -> FaultItem:
        try:
            self.to_fault()
        except InvalidFaultPlan as error:
            raise PydanticCustomError("fault", "{message}", {"message": str(error)}) from None
        return self


class ReplyItem(FaultItem):
    """Answer with this reply instead of the normal one (a 421 also closes)."""

    kind = "reply"
    at: Phase = Field(description="The phase the fault fires at.")
    reply: ReplyLines = Field(description="The reply, e.g. '421 4.7.0 Try again later'.")
    then_close: StrictBool = Field(
        default=False, description="Close the connection after the reply."
    )

    def _settings(self) -> dict[str, Any]:
        return {"reply": self.reply, "then_close": self.then_close}


class DelayItem(FaultItem):
    """Wait this many seconds, then carry on normally (slow banner, tarpit)."""

    kind = "delay"
    at: Phase = Field(description="The phase the fault fires at.")
    delay: Seconds = Field(description="Seconds to wait before answering.")

    def _settings(self) -> dict[str, Any]:
        return {"seconds": self.delay}


class CloseItem(FaultItem):
    """Close the connection with a FIN and no reply."""

    kind = "close"
    at: Phase = Field(description="The phase the fault fires at.")
    close: Literal[True]


class ResetItem(FaultItem):
    """Abort the connection with a TCP RST."""

    kind = "reset"
    at: Phase = Field(description="The phase the fault fires at.")
    reset: Literal[True]


class HangItem(FaultItem):
    """Stop answering and stop reading; the connection stays open."""

    kind = "hang"
    at: Phase = Field(description="The phase the fault fires at.")
    hang: Literal[True]


class GreylistSettings(Strict):
    """Greylisting with a reply other than the default ``451 4.7.1``."""

    seconds: Seconds = Field(description="How long a triplet stays greylisted.")
    reply: ReplyLines | None = Field(
        default=None, description="The temporary failure reply (default '451 4.7.1 Greylisted...')."
    )


class GreylistItem(FaultItem):
    """Temporary failure per (client, sender, recipient) until the seconds have passed."""

    kind = "greylist"
    greylist: Seconds | GreylistSettings = Field(
        description="Seconds a triplet stays greylisted, or {seconds, reply}."
    )

    def _settings(self) -> dict[str, Any]:
        if isinstance(self.greylist, GreylistSettings):
            return self.greylist.model_dump(exclude_none=True)
        return {"seconds": self.greylist}


class ConnectionLimitItem(FaultItem):
    """Greet with 421 when more than this many connections are open at once."""

    kind = "connection-limit"
    connection_limit: PositiveCount = Field(alias="connection-limit")

    def _settings(self) -> dict[str, Any]:
        return {"max_connections": self.connection_limit}


class RateLimitSettings(Strict):
    """At most ``messages`` accepted within any ``window_s`` seconds."""

    messages: PositiveCount
    window_s: Seconds


class RateLimitItem(FaultItem):
    """Answer MAIL FROM with 421 once the rate is exceeded."""

    kind = "rate-limit"
    rate_limit: RateLimitSettings = Field(alias="rate-limit")

    def _settings(self) -> dict[str, Any]:
        return {"messages": self.rate_limit.messages, "window_s": self.rate_limit.window_s}


class StoreThenDropItem(FaultItem):
    """Store the message, then drop the connection before the 250 (the duplicate trap)."""

    kind = "store-then-drop"
    store_then_drop: Literal[True] = Field(alias="store-then-drop")


class StripStartTLSItem(FaultItem):
    """Leave STARTTLS out of the EHLO reply before TLS (a downgrade attack)."""

    kind = "strip-starttls"
    strip_starttls: Literal[True] = Field(alias="strip-starttls")


class CapabilitiesSettings(Strict):
    """Lines to add to the EHLO reply and keywords to remove from it."""

    add: tuple[str, ...] = Field(default=(), description="Lines to add, e.g. 'AUTH PLAIN'.")
    remove: tuple[str, ...] = Field(default=(), description="Keywords to remove, e.g. 'SIZE'.")
    when: When = Field(default="always", description="before-tls, after-tls or always.")


class CapabilitiesItem(FaultItem):
    """Change the EHLO capability list, before TLS, after it or always."""

    kind = "capabilities"
    capabilities: CapabilitiesSettings

    def _settings(self) -> dict[str, Any]:
        return self.capabilities.model_dump()


class InjectAfterStartTLSItem(FaultItem):
    """Send reply lines in the same packet as '220 Ready to start TLS' (CVE-2011-0411)."""

    kind = "inject-after-starttls"
    inject_after_starttls: Literal[True] | tuple[str, ...] = Field(
        alias="inject-after-starttls",
        description="true for the default lines, or the reply lines to inject.",
    )

    def _settings(self) -> dict[str, Any]:
        lines = self.inject_after_starttls
        return {} if lines is True else {"lines": lines}


class HandshakeFailureItem(FaultItem):
    """Answer the TLS ClientHello with bytes that are not TLS, then close."""

    kind = "handshake-failure"
    handshake_failure: Literal[True] | str = Field(
        alias="handshake-failure",
        description="true for the default garbage, or the text to send (one byte a character).",
    )

    def _settings(self) -> dict[str, Any]:
        data = self.handshake_failure
        if data is True:
            return {}
        try:
            return {"data": data.encode("latin-1")}
        except UnicodeEncodeError:
            raise InvalidFaultPlan(
                f"handshake-failure: {data!r} holds characters above \\xff; write bytes"
                " as \\xNN escapes in a double-quoted string"
            ) from None


def kinds_in(value: object) -> list[str]:
    """The fault kind keys an item carries, in the order written."""
    if not isinstance(value, dict):
        return []
    return [key for key in value if key in ITEMS]


def _kind_of(value: Any) -> str | None:
    if isinstance(value, FaultItem):  # when serialising
        return value.kind
    found = kinds_in(value)
    return found[0] if len(found) == 1 else None


FaultSpec = Annotated[
    Annotated[ReplyItem, Tag(ReplyItem.kind)]
    | Annotated[DelayItem, Tag(DelayItem.kind)]
    | Annotated[CloseItem, Tag(CloseItem.kind)]
    | Annotated[ResetItem, Tag(ResetItem.kind)]
    | Annotated[HangItem, Tag(HangItem.kind)]
    | Annotated[GreylistItem, Tag(GreylistItem.kind)]
    | Annotated[ConnectionLimitItem, Tag(ConnectionLimitItem.kind)]
    | Annotated[RateLimitItem, Tag(RateLimitItem.kind)]
    | Annotated[StoreThenDropItem, Tag(StoreThenDropItem.kind)]
    | Annotated[StripStartTLSItem, Tag(StripStartTLSItem.kind)]
    | Annotated[CapabilitiesItem, Tag(CapabilitiesItem.kind)]
    | Annotated[InjectAfterStartTLSItem, Tag(InjectAfterStartTLSItem.kind)]
    | Annotated[HandshakeFailureItem, Tag(HandshakeFailureItem.kind)],
    Discriminator(
        _kind_of,
        custom_error_type="fault_kind",
        custom_error_message="expected exactly one fault kind key",
    ),
]
"""One item of ``faults:``, told apart by which fault kind key it has."""


ITEMS: dict[str, type[FaultItem]] = {
    cls.kind: cls for cls in (get_args(member)[0] for member in get_args(get_args(FaultSpec)[0]))
}
"""The item model of each fault kind, by kind name (the same names as ``faults.KINDS``)."""
