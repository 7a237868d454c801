"""The ``network:`` section: toxics of the chaos proxy, with Toxiproxy's names and units.

::

    network:
      - {toxic: latency, latency: 300, jitter: 50}         # ms, as Toxiproxy
      - {toxic: reset_peer, timeout: 0, attempts: [1]}
      - {toxic: down, attempts: [1, 2]}                    # the proxy refuses connections

Attribute names and units are Toxiproxy's own (milliseconds, KB/s, bytes, and
microseconds for ``slicer.delay``), so a toxic reads the same here, in the chaos proxy's
HTTP API and on a real Toxiproxy. Unlike Toxiproxy, every attribute is checked: unknown
keys, negative values and the values that crash Toxiproxy are refused.

Each toxic's item model is made here from the chaos layer's own toxic type
(:mod:`harness.chaos.toxics`: its attributes, defaults, required ones, and units and docs
lines in the fields' metadata), and each item is checked by building its
:class:`harness.chaos.Toxic`, which is what the run hands to the proxy.
"""

from __future__ import annotations

import inspect
from dataclasses import fields
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import Discriminator, Field, model_validator
from pydantic_core import PydanticCustomError

from harness.chaos.errors import InvalidToxic
from harness.chaos.toxic import Toxic
from harness.chaos.toxics import TYPES, ToxicType
from harness.model._base import (
    AttemptsField,
    Count,
    Probability,
    Seconds,
    Strict,
    shown,
)

Stream = Literal["upstream", "downstream"]


class ToxicItem(Strict):
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
    attempts: AttemptsField = "all"

    toxic: str
    tag: ClassVar[str]

    @property
    def toxic_name(self) -> str:
        """The name Toxiproxy would give it: ``name``, or ``<toxic>_<stream>``."""
        return self.name or f"{self.toxic}_{self.stream}"

    def attributes(self) -> dict[str, int]:
        """The toxic's own attributes, as Toxiproxy's ``attributes`` object."""
        wrapper = {"toxic", "name", "stream", "toxicity", "attempts"}
        return {k: v for k, v in self.model_dump().items() if k not in wrapper}

    def to_toxic(self) -> Toxic:
        """The chaos layer's toxic this item describes."""
        attempts = self.attempts
        return Toxic(
            type=self.toxic, attributes=self.attributes(), name=self.name or "",
            stream=self.stream, toxicity=self.toxicity,
            attempts=list(attempts) if isinstance(attempts, tuple) else attempts,
        )

    @model_validator(mode="after")
    def _builds(self) -> ToxicItem:
        try:
            self.to_toxic()
        except InvalidToxic as error:
            if error.attribute is not None:
                raise PydanticCustomError(
                    "scenario", "expected a value {expected}, got {got}",
                    {"field": error.attribute, "expected": error.expected,
                     "got": shown(getattr(self, error.attribute))},
                ) from None
            message = str(error).removeprefix(f"{self.toxic_name}: ")
            raise PydanticCustomError("fault", "{message}", {"message": message}) from None
        return self


def _item_model(kind: type[ToxicType]) -> type[ToxicItem]:
    """The ``network:`` item model of one toxic type, from its dataclass fields."""
    annotations: dict[str, Any] = {"toxic": Literal[kind.type]}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__,
                                 "__doc__": inspect.getdoc(kind), "tag": kind.type}
    for attribute in fields(kind):  # type: ignore[arg-type]
        unit = attribute.metadata.get("unit", "")
        text = f"{attribute.metadata.get('doc', '')} In {unit}." if unit else ""
        annotations[attribute.name] = Count
        namespace[attribute.name] = (
            Field(description=text) if attribute.name in kind.required
            else Field(default=attribute.default, description=text)
        )
    camel = "".join(part.capitalize() for part in kind.type.split("_"))
    return type(f"{camel}Item", (ToxicItem,), namespace)


class Down(Strict):
    """The proxy refuses connections: on some attempts, or for the first ``for_s`` seconds.

    Toxiproxy has no ``down`` toxic; it sets the proxy's ``enabled: false``. Here it is
    scoped like a toxic. With neither key the service stays down for the whole run.
    """

    tag: ClassVar[str] = "down"
    toxic: Literal["down"]
    attempts: AttemptsField | None = Field(
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


TOXICS: dict[str, type[ToxicItem] | type[Down]] = {
    **{name: _item_model(kind) for name, kind in TYPES.items() if name != "noop"},
    "down": Down,
}
"""The model of each ``toxic:`` value: every toxic type of the chaos layer, and ``down``."""


if TYPE_CHECKING:
    NetworkItem = ToxicItem | Down
else:
    NetworkItem = Annotated[Union[tuple(TOXICS.values())], Discriminator("toxic")]  # noqa: UP007
"""One item of ``network:``, told apart by its ``toxic`` key."""
