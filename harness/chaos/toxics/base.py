"""What every toxic type shares: its attributes are its dataclass fields, it has one
``pipe`` method, and optional capabilities are class attributes, not a fat interface."""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar

from harness.chaos.stub import Stub

REGISTRY: dict[str, type[ToxicType]] = {}
"""Every toxic type by its Toxiproxy name; a type's class adds itself when it is defined
(:mod:`harness.chaos.toxics` imports every module of the package)."""


class ToxicType:
    """One kind of toxic. Subclasses are frozen dataclasses of ``int`` attributes, with
    Toxiproxy's names and units.

    ``required`` lists attributes that must be given (Toxiproxy silently uses 0, which for
    these makes the toxic a no-op or crashes it); ``capacity`` is the input buffer in
    chunks; ``closes_on_removal`` says that removing it from a live link ends the
    connection, as Toxiproxy's ``timeout`` does.
    """

    type: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    capacity: ClassVar[int] = 1
    closes_on_removal: ClassVar[bool] = False

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        if "type" in cls.__dict__:
            REGISTRY[cls.type] = cls

    def check(self) -> tuple[str, str] | None:
        """Why these attribute values cannot work, beyond being negative: the attribute
        at fault and what it must be (``("size_variation", "below average_size (10)")``)."""
        return None

    async def pipe(self, stub: Stub) -> None:
        """Move chunks from ``stub.input`` to ``stub.output`` until the stream ends
        (then ``stub.close()``) or :class:`~harness.chaos.stub.Interrupted` is raised."""
        raise NotImplementedError


def attribute(unit: str, doc: str, *, default: int = 0) -> Any:
    """A toxic attribute: an ``int`` dataclass field whose unit and docs line are in its
    metadata, the one place the scenario model, error messages and reference page read."""
    return field(default=default, metadata={"unit": unit, "doc": doc})
