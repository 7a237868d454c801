"""``noop``: pass everything through; also what a toxic runs as when its roll fails."""

from __future__ import annotations

from dataclasses import dataclass

from harness.chaos.stub import Stub
from harness.chaos.toxics.base import ToxicType


@dataclass(frozen=True)
class Noop(ToxicType):
    """Forward every chunk untouched."""

    type = "noop"

    async def pipe(self, stub: Stub) -> None:
        while (chunk := await stub.receive()) is not None:
            await stub.send(chunk)
        stub.close()
