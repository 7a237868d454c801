"""Argument checks shared by the fault modules, with messages that name the field."""

from __future__ import annotations

from harness.errors import InvalidFaultPlan


def non_negative_number(kind: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidFaultPlan(f"{kind}: {name}={value!r} is not allowed; allowed: a number >= 0")
    return float(value)


def positive_int(kind: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidFaultPlan(
            f"{kind}: {name}={value!r} is not allowed; allowed: a whole number >= 1"
        )
    return value
