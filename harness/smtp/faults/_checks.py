"""Argument checks shared by the fault modules, with messages that name the field."""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import InvalidFaultPlan
from harness.replies import SMTPReply


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


def non_negative_int(kind: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidFaultPlan(
            f"{kind}: {name}={value!r} is not allowed; allowed: a whole number >= 0"
        )
    return value


_NUMBERS = {"seconds": non_negative_number, "count": non_negative_int,
            "positive-count": positive_int}


def check_setting(kind: str, name: str, value_type: str, value: object) -> None:
    """Refuse a number outside its setting's value type, naming the field."""
    check = _NUMBERS.get(value_type)
    if check is not None:
        check(kind, name, value)


def keep_reply(fault: object, value: SMTPReply | str | Sequence[str]) -> SMTPReply:
    """Parse a fault's ``reply`` setting once and keep the result as its ``reply`` and
    ``parsed`` fields (a frozen dataclass's, hence ``object.__setattr__``)."""
    parsed = SMTPReply.of(value)
    object.__setattr__(fault, "reply", parsed)
    object.__setattr__(fault, "parsed", parsed)
    return parsed
