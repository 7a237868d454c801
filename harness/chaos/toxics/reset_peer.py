"""``reset_peer``: on the first data, wait ``timeout`` ms, then reset with a TCP RST."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.chaos.stub import Stub
from harness.chaos.toxics.base import ToxicType, attribute


@dataclass(frozen=True)
class ResetPeer(ToxicType):
    """The first chunk in its direction (or the end of the stream) is dropped and starts
    the timer; if no data ever flows that way, no reset happens. The wait cannot be
    interrupted, as in Toxiproxy. Both sockets are closed with ``SO_LINGER`` 0."""

    type = "reset_peer"

    timeout: int = attribute("milliseconds", "Time after the first data; 0 resets at once.")

    async def pipe(self, stub: Stub) -> None:
        chunk = await stub.receive()
        stub.report(
            f"first {'data' if chunk is not None else 'end of stream'} seen,"
            f" RST in {self.timeout} ms",
            dropped=len(chunk.data) if chunk is not None else 0,
        )
        await asyncio.sleep(self.timeout / 1000)
        stub.report("RST sent")
        stub.close(reset=True)
