"""Argument checks that raise Hypothesis' own InvalidArgument, naming the value given."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")


def check_int(name: str, value: object, *, min_value: int,
              max_value: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < min_value or (max_value is not None and value > max_value):
        upper = f" and <= {max_value}" if max_value is not None else ""
        raise InvalidArgument(f"{name}={value!r} must be >= {min_value}{upper}")
    return value


def check_strategy(name: str, value: object) -> SearchStrategy[Any]:
    if not isinstance(value, SearchStrategy):
        raise InvalidArgument(
            f"{name}={value!r} must be a strategy (e.g. st.just({value!r})), not a value"
        )
    return value


def check_subset(name: str, value: Iterable[str] | None, allowed: Collection[str],
                 default: Collection[str]) -> tuple[str, ...]:
    """A non-empty subset of ``allowed``; None means ``default``."""
    if value is None:
        return tuple(default)
    if isinstance(value, str):
        raise InvalidArgument(f"{name}={value!r} must be a list of names, e.g. [{value!r}]")
    chosen = tuple(value)
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise InvalidArgument(
            f"{name}={chosen!r}: {unknown[0]!r} is not allowed; allowed: {', '.join(allowed)}"
        )
    if not chosen:
        raise InvalidArgument(f"{name}=() leaves nothing to generate; give at least one")
    return chosen
