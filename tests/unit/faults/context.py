"""A FaultContext builder for driving faults without sockets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.faults import FaultContext, Phase


class FakeServer:
    def __init__(self, open_before: int = 0, accepted: Sequence[float] = ()) -> None:
        self._open_before = open_before
        self._accepted = list(accepted)

    def open_before(self, attempt: int) -> int:
        return self._open_before

    def accepted_message_times(self) -> Sequence[float]:
        return self._accepted


def context(phase: Phase, **fields: Any) -> FaultContext:
    fields.setdefault("attempt", 1)
    fields.setdefault("now", 100.0)
    return FaultContext(phase=phase, **fields)
