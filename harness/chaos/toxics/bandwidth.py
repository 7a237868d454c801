"""``bandwidth``: at most ``rate`` KB/s (1 KB = 1000 bytes), in 100 ms slices."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.chaos.stub import Chunk, Stub
from harness.chaos.toxics.base import ToxicType, attribute


@dataclass(frozen=True)
class Bandwidth(ToxicType):
    """Keeps a running sleep debt of ``len / rate`` ms per chunk. A chunk larger than
    ``rate * 100`` bytes goes out in pieces of that size every 100 ms; the timer error is
    carried over, so the long-run rate holds. ``rate <= 0`` means no limit."""

    type = "bandwidth"
    required = ("rate",)

    rate: int = attribute("KB/s, 1 KB = 1000 bytes", "The rate; 0 means no limit.")

    async def pipe(self, stub: Stub) -> None:
        loop = asyncio.get_running_loop()
        debt = 0.0  # seconds
        reported = False
        while (chunk := await stub.receive()) is not None:
            if self.rate <= 0:
                await stub.send(chunk)
                continue
            if not reported:
                stub.report(f"throttling to {self.rate} KB/s", rate=self.rate)
                reported = True
            debt += len(chunk.data) / self.rate / 1000
            piece = self.rate * 100
            while len(chunk.data) > piece:
                if not await stub.sleep(0.1):
                    stub.flush(chunk)
                    return
                await stub.send(Chunk(chunk.data[:piece], chunk.stamp))
                chunk.data = chunk.data[piece:]
                debt -= 0.1
            start = loop.time()
            if not await stub.sleep(debt):
                stub.flush(chunk)
                return
            debt -= loop.time() - start
            await stub.send(chunk)
        stub.close()
