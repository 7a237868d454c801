"""The ``faults:`` section: one item per fault, the fault kind as its key.

::

    faults:
      - {at: banner, reply: "421 4.7.0 Try again later", attempts: [1, 2]}
      - {at: body, after_bytes: 2048, reset: true}
      - {greylist: 2.0}

Each kind's item model is made here from the kind's own declaration (its module in
``harness/smtp/faults``: settings, value types, docs lines; see
:mod:`harness.smtp.faults.shape`), and each item is checked by building its
:mod:`harness.faults` object, so the scenario file and the Python API accept and refuse
exactly the same faults, and a new kind needs nothing here.
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from harness import faults
from harness.errors import InvalidFaultPlan
from harness.faults import Fault, Phase
from harness.model._base import (
    AttemptsField,
    Count,
    PositiveCount,
    Probability,
    Seconds,
    Strict,
)
from harness.smtp.faults.shape import Setting, beside_key, kind_arguments, under_key

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
    attempts: AttemptsField = "all"
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
        kind = faults.KINDS[self.kind]
        value = getattr(self, key_field(self.kind))
        if isinstance(value, BaseModel):
            value = {k: v for k, v in value.model_dump().items() if k in value.model_fields_set}
        beside = {s.name: getattr(self, s.name) for s in beside_key(kind)}
        return kind_arguments(kind, value, beside)

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


def key_field(kind: str) -> str:
    """The item model's field for a kind's key (``connection-limit``: ``connection_limit``)."""
    return kind.replace("-", "_")


def _annotation(setting: Setting) -> Any:
    simple: dict[str, Any] = {
        "seconds": Seconds, "count": Count, "positive-count": PositiveCount, "flag": StrictBool,
        "reply": ReplyLines, "lines": tuple[str, ...], "text": str, "latin1": str,
    }
    if setting.type == "choice":
        return Literal[setting.choices]
    return simple[setting.type]


def _field(setting: Setting) -> tuple[Any, FieldInfo]:
    text = setting.doc + (f" In {setting.unit}." if setting.unit else "")
    if setting.required:
        return _annotation(setting), Field(description=text)
    default = setting.dump(setting.default)
    if isinstance(default, list):
        default = tuple(default)
    return _annotation(setting), Field(default=default, description=text)


def _camel(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


def _key_annotation(kind: type[Fault]) -> tuple[Any, str]:
    """The type of the kind key's value, and its description."""
    inner = under_key(kind)
    if not inner:
        return Literal[True], "true"
    if len(inner) == 1:
        (only,) = inner
        annotation, _ = _field(only)
        if only.required:
            return annotation, only.doc
        return annotation | Literal[True], f"{only.doc} true: the default."
    namespace: dict[str, Any] = {"__annotations__": {}, "__module__": __name__,
                                 "__doc__": f"The settings of {kind.kind}."}
    for setting in inner:
        namespace["__annotations__"][setting.name], namespace[setting.name] = _field(setting)
    settings = type(f"{_camel(kind.kind)}Settings", (Strict,), namespace)
    if kind.shorthand is None:
        return settings, "; ".join(f"{s.name}: {s.doc}" for s in inner)
    short = next(s for s in inner if s.name == kind.shorthand)
    return settings | _annotation(short), f"{short.doc}, or the mapping of its settings."


def _item_model(kind: type[Fault]) -> type[FaultItem]:
    """The ``faults:`` item model of one fault kind, from its declaration."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__,
                                 "__doc__": inspect.getdoc(kind), "kind": kind.kind}
    if _at_required(kind):
        annotations["at"] = Phase
        namespace["at"] = Field(description="The phase the fault fires at.")
    key, description = _key_annotation(kind)
    annotations[key_field(kind.kind)] = key
    namespace[key_field(kind.kind)] = Field(alias=kind.kind, description=description)
    for setting in beside_key(kind):
        annotations[setting.name], namespace[setting.name] = _field(setting)
    return type(f"{_camel(kind.kind)}Item", (FaultItem,), namespace)


def _at_required(kind: type[Fault]) -> bool:
    return kind.__dataclass_fields__["at"].default is MISSING


ITEMS: dict[str, type[FaultItem]] = {
    kind: _item_model(cls) for kind, cls in faults.KINDS.items()
}
"""The item model of each fault kind, by kind name (the same names as ``faults.KINDS``)."""


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


if TYPE_CHECKING:
    FaultSpec = FaultItem
else:
    FaultSpec = Annotated[
        Union[tuple(Annotated[model, Tag(kind)] for kind, model in ITEMS.items())],  # noqa: UP007
        Discriminator(
            _kind_of,
            custom_error_type="fault_kind",
            custom_error_message="expected exactly one fault kind key",
        ),
    ]
"""One item of ``faults:``, told apart by which fault kind key it has."""
