"""``timeout``: drop all data; close after ``timeout`` ms, or never when it is 0."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.chaos.stub import Expired, Stub
from harness.chaos.toxics.base import ToxicType, attribute


@dataclass(frozen=True)
class Timeout(ToxicType):
    """A black hole. The countdown starts when the toxic starts on the link (at connect,
    or when added to a live one) and traffic does not reset it. Removing the toxic from a
    live link closes the connection, as in Toxiproxy."""

    type = "timeout"
    closes_on_removal = True

    timeout: int = attribute(
        "milliseconds, 0 = never close", "Time before the connection is closed.")

    async def pipe(self, stub: Stub) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + self.timeout / 1000 if self.timeout > 0 else None
        dropped = 0
        while True:
            try:
                chunk = await stub.receive(until)
            except Expired:
                stub.report(f"closed after {self.timeout} ms", dropped=dropped)
                stub.close()
                return
            if chunk is None:
                stub.close()
                return
            if dropped == 0:
                stub.report("dropping data")
            dropped += len(chunk.data)
