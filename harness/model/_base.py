"""What every scenario model shares: strict, frozen, and the attempt selector type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from harness.errors import InvalidFaultPlan
from harness.faults import Attempts


class Strict(BaseModel):
    """A section of a scenario file: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ATTEMPTS_EXPECTED = (
    "an attempt selector: 'all', a number from 1 (2), a list ([1, 2]), a range ('1-3')"
    " or 'N+' (attempt N and later)"
)


def problem(expected: str, got: object) -> PydanticCustomError:
    """A validation error whose message is already ``expected ..., got ...``."""
    return PydanticCustomError(
        "scenario", "expected {expected}, got {got}", {"expected": expected, "got": shown(got)}
    )


def shown(value: object) -> str:
    """A value as a scenario author wrote it: YAML words, short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, dict):
        keys = ", ".join(repr(str(k)) for k in list(value)[:4])
        return f"a mapping ({keys})" if keys else "an empty mapping"
    if isinstance(value, (list, tuple)):
        return "a list" if value else "an empty list"
    return type(value).__name__


def one_of(choices: Sequence[object]) -> str:
    """``one of 'a', 'b', 'c'``; just ``true`` when there is one choice."""
    if len(choices) == 1:
        return shown(choices[0])
    return "one of " + ", ".join(shown(choice) for choice in choices)


def _attempts(value: Any) -> AttemptsAsWritten:
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise PydanticCustomError(
                    "scenario",
                    "expected a list of attempt numbers from 1 ([1, 2]), got {got} as item"
                    " {index} of the list",
                    {"got": shown(item), "index": index},
                )
    spec: Any = tuple(value) if isinstance(value, list) else value
    if isinstance(spec, (str, int, tuple)) and not isinstance(spec, bool):
        try:
            Attempts.parse(spec)
        except InvalidFaultPlan:
            pass
        else:
            return spec
    raise problem(ATTEMPTS_EXPECTED, value)


AttemptsAsWritten = str | int | tuple[int, ...]
"""An ``attempts:`` value as the file wrote it, kept so that the scenario writes back the same."""


def _attempts_out(value: AttemptsAsWritten) -> str | int | list[int]:
    return list(value) if isinstance(value, tuple) else value


AttemptsField = Annotated[
    AttemptsAsWritten,
    PlainValidator(_attempts),
    PlainSerializer(_attempts_out),
    WithJsonSchema(
        {
            "description": ATTEMPTS_EXPECTED,
            "anyOf": [
                {"const": "all"},
                {"type": "integer", "minimum": 1},
                {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                {"type": "string", "pattern": r"^\s*\d+\s*(-\s*\d+|\+|(,\s*\d+)+)?\s*$"},
            ],
        }
    ),
]
"""Which attempts something applies to, validated by :meth:`harness.faults.Attempts.parse`."""


def selector(value: AttemptsAsWritten) -> Attempts:
    """The parsed form of a validated :data:`AttemptsField` value."""
    spec: str | int | Sequence[int] = value
    return Attempts.parse(spec)


Seconds = Annotated[float, Field(strict=True, ge=0)]
"""A duration in seconds, a float or a whole number, never negative."""

Probability = Annotated[float, Field(strict=True, ge=0, le=1)]
"""A chance from 0 to 1."""

Count = Annotated[int, Field(strict=True, ge=0)]
"""A whole number from 0; YAML ``2.0`` or ``"2"`` is refused, not rounded."""

PositiveCount = Annotated[int, Field(strict=True, ge=1)]
"""A whole number from 1."""
