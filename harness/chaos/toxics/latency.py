"""``latency``: deliver each chunk ``latency`` ms (± ``jitter``) after it was read."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.chaos.stub import Stub
from harness.chaos.toxics.base import ToxicType, attribute


@dataclass(frozen=True)
class Latency(ToxicType):
    """A pipeline delay, not a cumulative one: a chunk waits only for what remains of
    its own delay since it was read, so writes 50 ms apart still arrive 50 ms apart.
    Jitter is drawn per chunk, uniform in ``[latency - jitter, latency + jitter)`` ms."""

    type = "latency"
    required = ("latency",)
    capacity = 1024

    latency: int = attribute("milliseconds", "Delay per chunk.")
    jitter: int = attribute("milliseconds", "Random variation of the delay.")

    async def pipe(self, stub: Stub) -> None:
        loop = asyncio.get_running_loop()
        reported = False
        while (chunk := await stub.receive()) is not None:
            delay_ms = self.latency
            if self.jitter > 0:
                delay_ms += stub.rng.randrange(2 * self.jitter) - self.jitter
            wait = delay_ms / 1000 - (loop.time() - chunk.stamp)
            if not reported:
                stub.report(f"delaying chunks by {delay_ms} ms", delay_ms=delay_ms)
                reported = True
            if not await stub.sleep(wait):
                stub.flush(chunk)
                return
            if wait > 0:
                # Stacked latency toxics add up because the stamp moves on.
                chunk.stamp += wait
            await stub.send(chunk)
        stub.close()
