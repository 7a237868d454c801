"""``slow_close``: hold the end of the stream for ``delay`` ms before closing."""

from __future__ import annotations

from dataclasses import dataclass

from harness.chaos.stub import Stub
from harness.chaos.toxics.base import ToxicType, attribute


@dataclass(frozen=True)
class SlowClose(ToxicType):
    """Data passes untouched; when the source ends, the close waits ``delay`` ms."""

    type = "slow_close"
    required = ("delay",)

    delay: int = attribute("milliseconds", "Delay before the close.")

    async def pipe(self, stub: Stub) -> None:
        while (chunk := await stub.receive()) is not None:
            await stub.send(chunk)
        stub.report(f"close delayed by {self.delay} ms", delay_ms=self.delay)
        if not await stub.sleep(self.delay / 1000):
            stub.unreceive(None)  # the next run of the chain sees the end again
            return
        stub.close()
