"""A toxic as Toxiproxy defines it (name, type, stream, toxicity, attributes), plus the
harness's extension: the attempts it applies to.

Attributes keep Toxiproxy's names and units (``latency`` ms, ``rate`` KB/s, ``delay`` µs
for ``slicer``...). Unlike Toxiproxy, values are checked: negative numbers, floats,
unknown keys and a missing defining attribute are refused with :class:`InvalidToxic`
instead of silently becoming 0.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from harness.attempts import Attempts, AttemptsLike
from harness.chaos.errors import InvalidToxic
from harness.chaos.toxics import TYPES, ToxicType
from harness.errors import InvalidFaultPlan

STREAMS = ("upstream", "downstream")
_INT64 = 2**63 - 1


@dataclass(frozen=True, kw_only=True)
class Toxic:
    """One toxic on a proxy.

    >>> Toxic(type="latency", attributes={"latency": 100, "jitter": 10}, attempts="1-2")

    ``stream`` is where the bytes flow: ``downstream`` (server to client, the default)
    or ``upstream``; it is matched case-insensitively and echoed as given, as Toxiproxy
    does. ``toxicity`` is the chance, rolled once per connection and direction, that the
    toxic acts at all. ``attempts`` scopes it to some attempts (``"all"``, ``2``,
    ``[1, 2]``, ``"1-2"``, ``"3+"``).
    """

    type: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    stream: str = "downstream"
    toxicity: float = 1.0
    attempts: AttemptsLike = field(default="all", compare=False)
    behaviour: ToxicType = field(init=False, repr=False, compare=False)
    selector: Attempts = field(init=False, repr=False)
    """The parsed ``attempts``: toxics compare by it, so ``[1]``, ``1`` and ``"1"`` agree."""

    def __post_init__(self) -> None:
        kind = TYPES.get(self.type) if isinstance(self.type, str) else None
        if kind is None:
            raise InvalidToxic(
                f"invalid toxic type {self.type!r}; allowed: {', '.join(TYPES)}"
            )
        if not isinstance(self.stream, str) or self.stream.lower() not in STREAMS:
            raise InvalidToxic("stream was invalid, can be either upstream or downstream")
        if not self.name:
            object.__setattr__(self, "name", f"{self.type}_{self.stream}")
        if not isinstance(self.name, str):
            raise InvalidToxic(f"toxic name must be a string, got {self.name!r}")
        if isinstance(self.toxicity, bool) or not isinstance(self.toxicity, (int, float)) or not (
            0.0 <= self.toxicity <= 1.0
        ):
            raise InvalidToxic(
                f"{self.name}: toxicity={self.toxicity!r} is out of range; allowed: 0 to 1"
            )
        object.__setattr__(self, "toxicity", float(self.toxicity))
        object.__setattr__(self, "behaviour", _behaviour(kind, self.name, self.attributes))
        object.__setattr__(self, "attributes", attributes_of(self.behaviour))
        object.__setattr__(self, "selector", parse_attempts(self.attempts, self.name))

    @property
    def direction(self) -> str:
        """``upstream`` or ``downstream``, whatever the case ``stream`` was given in."""
        return self.stream.lower()

    def updated(self, attributes: Mapping[str, Any] | None, toxicity: float | None) -> Toxic:
        """This toxic with some attributes or the toxicity changed; name, type and stream
        stay, as in Toxiproxy's update."""
        merged = {**self.attributes, **(attributes or {})}
        return replace(
            self, attributes=merged, toxicity=self.toxicity if toxicity is None else toxicity
        )

    def to_json(self) -> dict[str, Any]:
        """Toxiproxy's toxic object; ``attempts`` only when it is not every attempt."""
        body: dict[str, Any] = {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": _number(self.toxicity),
        }
        if str(self.selector) != "all":
            body["attempts"] = str(self.selector)
        return body

    @classmethod
    def from_json(cls, body: object) -> Toxic:
        """Read a toxic as Toxiproxy's API receives it (``POST .../toxics``)."""
        if not isinstance(body, dict):
            raise InvalidToxic("bad request body: a toxic must be a JSON object")
        attributes = body.get("attributes")
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, dict):
            raise InvalidToxic("bad request body: attributes must be a JSON object")
        toxicity = body.get("toxicity")
        return cls(
            type=body.get("type", ""),
            attributes=attributes,
            name=body.get("name") or "",
            stream=body.get("stream") or "downstream",
            toxicity=1.0 if toxicity is None else toxicity,
            attempts=body.get("attempts", "all"),
        )


def parse_attempts(spec: AttemptsLike, what: str) -> Attempts:
    """``Attempts.parse``, with its error as an :class:`InvalidToxic` naming ``what``."""
    try:
        return Attempts.parse(spec)
    except InvalidFaultPlan as error:
        raise InvalidToxic(f"{what}: {error}") from None


def attributes_of(behaviour: ToxicType) -> dict[str, int]:
    """Every attribute of a toxic type with its value, defaults filled in."""
    return {f.name: getattr(behaviour, f.name) for f in fields(behaviour)}  # type: ignore[arg-type]


def _behaviour(kind: type[ToxicType], name: str, given: object) -> ToxicType:
    if not isinstance(given, Mapping):
        raise InvalidToxic(f"{name}: attributes must be a mapping, got {given!r}")
    known = [f.name for f in fields(kind)]  # type: ignore[arg-type]
    for key, value in given.items():
        if key not in known:
            hint = difflib.get_close_matches(str(key), known, n=1)
            raise InvalidToxic(
                f"{name}: unknown attribute {key!r} for {kind.type}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f"; allowed: {', '.join(known) or 'none'}"
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidToxic(
                f"{name}: attribute {key}={value!r} must be an integer"
                f" ({unit_of(kind, key) or 'see the toxic table'})"
            )
        if not 0 <= value <= _INT64:
            what = f"{key}={value} is negative" if value < 0 else f"{key} is too large"
            raise InvalidToxic(
                f"{name}: attribute {what}; allowed: 0 to {_INT64}"
                f" ({unit_of(kind, key)})"
            )
    missing = [key for key in kind.required if key not in given]
    if missing:
        raise InvalidToxic(
            f"{name}: missing required attribute {missing[0]!r} for {kind.type}"
            f" ({unit_of(kind, missing[0])})"
        )
    behaviour = kind(**given)
    problem = behaviour.check()
    if problem:
        attribute, expected = problem
        raise InvalidToxic(
            f"{name}: {attribute} must be {expected}, got {getattr(behaviour, attribute)}",
            attribute=attribute, expected=expected,
        )
    return behaviour


def unit_of(kind: type[ToxicType], attribute: str) -> str:
    """The unit of a toxic type's attribute, from its field's metadata."""
    found = [f for f in fields(kind) if f.name == attribute]  # type: ignore[arg-type]
    return str(found[0].metadata.get("unit", "")) if found else ""


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() else value
