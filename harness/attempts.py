"""Where and when: the phases of an attempt, and which attempts something applies to.

A leaf of the import graph: SMTP faults, network toxics and the scenario model all
schedule by these, so none of them has to import another to share the words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Union, get_args

from harness.errors import InvalidFaultPlan

Phase = Literal[
    "connect", "banner", "ehlo", "starttls", "tls", "auth", "mail", "rcpt", "data", "body",
    "dot", "quit",
]
PHASES: tuple[Phase, ...] = get_args(Phase)

AttemptsLike = Union["Attempts", int, str, Sequence[int], None]
"""Anything :meth:`Attempts.parse` takes: ``"all"``, ``2``, ``[1, 3]``, ``"1-2"``, ``"3+"``."""


@dataclass(frozen=True)
class Attempts:
    """Which attempts a fault applies to: all, some listed, or a range ``first..last``."""

    first: int = 1
    last: int | None = None
    only: frozenset[int] | None = None

    def __contains__(self, attempt: object) -> bool:
        if not isinstance(attempt, int):
            return False
        if self.only is not None:
            return attempt in self.only
        return attempt >= self.first and (self.last is None or attempt <= self.last)

    @classmethod
    def parse(cls, spec: AttemptsLike) -> Attempts:
        """Read ``"all"``, ``3``, ``[1, 2]`` (or ``"1,2"``), ``"1-2"`` or ``"3+"`` (attempt 3
        and later): whatever ``str()`` of an :class:`Attempts` writes reads back."""
        if isinstance(spec, Attempts):
            return spec
        if spec is None or spec == "all":
            return cls()
        if isinstance(spec, bool):
            raise _bad_attempts(spec)
        if isinstance(spec, int):
            return cls(only=frozenset({_positive(spec)}))
        if isinstance(spec, str):
            text = spec.strip()
            if m := re.fullmatch(r"(\d+)\s*-\s*(\d+)", text):
                first, last = _positive(int(m[1])), _positive(int(m[2]))
                if last < first:
                    raise _bad_attempts(spec)
                return cls(first, last)
            if m := re.fullmatch(r"(\d+)\s*\+", text):
                return cls(_positive(int(m[1])))
            if re.fullmatch(r"\d+(\s*,\s*\d+)*", text):  # "2", or "1,2" as str() writes it
                return cls(only=frozenset(_positive(int(n)) for n in text.split(",")))
            raise _bad_attempts(spec)
        if isinstance(spec, Sequence) and spec and all(
            isinstance(n, int) and not isinstance(n, bool) for n in spec
        ):
            return cls(only=frozenset(_positive(int(n)) for n in spec))
        raise _bad_attempts(spec)

    def __str__(self) -> str:
        if self.only is not None:
            return ",".join(str(n) for n in sorted(self.only))
        if self.last is None:
            return "all" if self.first == 1 else f"{self.first}+"
        return f"{self.first}-{self.last}"


def _positive(n: int) -> int:
    if n < 1:
        raise InvalidFaultPlan(f"attempt number {n} is not allowed: attempts are numbered from 1")
    return n


def _bad_attempts(spec: object) -> InvalidFaultPlan:
    return InvalidFaultPlan(
        f"attempts={spec!r} is not understood; allowed: 'all', a number (2), a list ([1, 2]),"
        " a range ('1-3') or 'N+' (attempt N and later)"
    )
