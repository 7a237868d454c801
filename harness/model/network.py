"""The ``network:`` section: toxics of the chaos proxy, with Toxiproxy's names and units.

::

    network:
      - {toxic: latency, latency: 300, jitter: 50}         # ms, as Toxiproxy
      - {toxic: reset_peer, timeout: 0, attempts: [1]}
      - {toxic: down, attempts: [1, 2]}                    # the proxy refuses connections

Attribute names and units are Toxiproxy's own (milliseconds, KB/s, bytes, and
microseconds for ``slicer.delay``), so a toxic reads the same here, in the chaos proxy's
HTTP API and on a real Toxiproxy. Unlike Toxiproxy, every attribute is checked: unknown
keys, negative values and the values that crash Toxiproxy are refused. The models stay
plain data; the run hands them to the chaos proxy.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, model_validator
from pydantic_core import PydanticCustomError

from harness.model._base import (
    AttemptSelector,
    Count,
    PositiveCount,
    Probability,
    Seconds,
    Strict,
    shown,
)

Stream = Literal["upstream", "downstream"]


class Toxic(Strict):
    """The keys every toxic carries: Toxiproxy's wrapper fields plus ``attempts``."""

    name: str | None = Field(
        default=None, min_length=1, description="Unique per scenario; default '<toxic>_<stream>'."
    )
    stream: Stream = Field(
        default="downstream",
        description="downstream: server to client; upstream: client to server.",
    )
    toxicity: Probability = Field(
        default=1.0,
        description="Chance (0 to 1) that a connection is affected, drawn per connection.",
    )
    attempts: AttemptSelector = "all"

    toxic: str
    tag: ClassVar[str]

    @property
    def toxic_name(self) -> str:
        """The name Toxiproxy would give it: ``name``, or ``<toxic>_<stream>``."""
        return self.name or f"{self.toxic}_{self.stream}"

    def to_json(self) -> dict[str, Any]:
        """Toxiproxy's toxic object, plus ``attempts`` when not every attempt: what the
        chaos proxy's HTTP API and ``harness.chaos.Toxic.from_json`` take."""
        body: dict[str, Any] = {
            "name": self.toxic_name,
            "type": self.toxic,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes(),
        }
        if self.attempts != "all":
            attempts = self.attempts
            body["attempts"] = list(attempts) if isinstance(attempts, tuple) else attempts
        return body

    def attributes(self) -> dict[str, int]:
        """The toxic's own attributes, as Toxiproxy's ``attributes`` object."""
        wrapper = {"toxic", "name", "stream", "toxicity", "attempts"}
        return {k: v for k, v in self.model_dump().items() if k not in wrapper}


class Latency(Toxic):
    """Deliver each chunk ``latency`` ms (plus or minus ``jitter`` ms) after it was read."""

    tag = "latency"
    toxic: Literal["latency"]
    latency: Count = Field(description="Delay per chunk, in milliseconds.")
    jitter: Count = Field(default=0, description="Random variation of the delay, in milliseconds.")


class Bandwidth(Toxic):
    """Limit the rate to ``rate`` KB/s (1 KB = 1000 bytes)."""

    tag = "bandwidth"
    toxic: Literal["bandwidth"]
    rate: Count = Field(description="Rate in KB/s (1000 bytes per second); 0 means no limit.")


class SlowClose(Toxic):
    """Delay the close by ``delay`` ms once the source has closed."""

    tag = "slow_close"
    toxic: Literal["slow_close"]
    delay: Count = Field(description="Delay before the close, in milliseconds.")


class Timeout(Toxic):
    """Drop all data; close after ``timeout`` ms, or never if 0."""

    tag = "timeout"
    toxic: Literal["timeout"]
    timeout: Count = Field(
        description="Milliseconds before the connection is closed; 0 keeps it open forever."
    )


class ResetPeer(Toxic):
    """Reset the connection (RST) ``timeout`` ms after the first data in its direction."""

    tag = "reset_peer"
    toxic: Literal["reset_peer"]
    timeout: Count = Field(
        default=0, description="Milliseconds after the first data; 0 resets at once."
    )


class Slicer(Toxic):
    """Cut data into pieces of about ``average_size`` bytes, ``delay`` µs apart."""

    tag = "slicer"
    toxic: Literal["slicer"]
    average_size: PositiveCount = Field(description="Average piece size, in bytes.")
    size_variation: Count = Field(
        default=0, description="Random variation of the piece size, in bytes; below average_size."
    )
    delay: Count = Field(default=0, description="Pause after each piece, in MICROseconds.")

    @model_validator(mode="after")
    def _variation_below_average(self) -> Slicer:
        if self.size_variation >= self.average_size:
            raise PydanticCustomError(
                "scenario",
                "expected a value below average_size ({average}), got {got}",
                {
                    "field": "size_variation",
                    "average": self.average_size,
                    "got": self.size_variation,
                },
            )
        return self


class LimitData(Toxic):
    """Close the connection once ``bytes`` bytes have passed in its direction."""

    tag = "limit_data"
    toxic: Literal["limit_data"]
    bytes: Count = Field(description="Bytes let through before the close.")


class Down(Strict):
    """The proxy refuses connections: on some attempts, or for the first ``for_s`` seconds.

    Toxiproxy has no ``down`` toxic; it sets the proxy's ``enabled: false``. Here it is
    scoped like a toxic. With neither key the service stays down for the whole run.
    """

    tag: ClassVar[str] = "down"
    toxic: Literal["down"]
    attempts: AttemptSelector | None = Field(
        default=None, description="The attempts that are refused."
    )
    for_s: Seconds | None = Field(
        default=None,
        description="Refuse connections for this many seconds from the start of the run.",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> Down:
        if self.attempts is not None and self.for_s is not None:
            raise PydanticCustomError(
                "scenario",
                "expected attempts or for_s, not both, got for_s {got} with attempts too",
                {"field": "for_s", "got": shown(self.for_s)},
            )
        return self


TOXICS: dict[str, type[Toxic] | type[Down]] = {
    cls.tag: cls
    for cls in (Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData, Down)
}
"""The model of each ``toxic:`` value."""


NetworkItem = Annotated[
    Latency | Bandwidth | SlowClose | Timeout | ResetPeer | Slicer | LimitData | Down,
    Discriminator("toxic"),
]
"""One item of ``network:``, told apart by its ``toxic`` key."""
