"""``slicer``: split each chunk into pieces of about ``average_size`` bytes."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from harness.chaos.stub import Chunk, Stub
from harness.chaos.toxics.base import ToxicType, attribute


@dataclass(frozen=True)
class Slicer(ToxicType):
    """A range stays whole when it exceeds ``average_size`` by at most ``size_variation``;
    otherwise it is halved, the cut moved by up to ``size_variation`` either way. Pieces
    go out in order with ``delay`` µs after each, including the last."""

    type = "slicer"
    required = ("average_size",)

    average_size: int = attribute("bytes", "Average piece size.")
    size_variation: int = attribute(
        "bytes", "Random variation of the piece size; below average_size.")
    delay: int = attribute("microseconds", "Pause after each piece.")

    def check(self) -> tuple[str, str] | None:
        # Toxiproxy overflows its stack or panics on these values and takes the whole
        # server down; here they are refused.
        if self.average_size <= 0:
            return "average_size", "at least 1"
        if self.size_variation >= self.average_size:
            return "size_variation", f"smaller than average_size ({self.average_size})"
        return None

    def cuts(self, size: int, rng: random.Random) -> list[int]:
        """The piece boundaries of a chunk of ``size`` bytes, ``0`` to ``size``."""
        bounds, todo = [size], [(0, size)]
        while todo:
            start, end = todo.pop()
            if (end - start) - self.average_size <= self.size_variation:
                continue
            mid = start + (end - start) // 2
            if self.size_variation > 0:
                mid += rng.randrange(2 * self.size_variation) - self.size_variation
            bounds.append(mid)
            todo += [(start, mid), (mid, end)]
        return [0, *sorted(bounds)]

    async def pipe(self, stub: Stub) -> None:
        reported = False
        while (chunk := await stub.receive()) is not None:
            bounds = self.cuts(len(chunk.data), stub.rng)
            if not reported:
                stub.report(f"slicing into {len(bounds) - 1} pieces", pieces=len(bounds) - 1)
                reported = True
            for start, end in itertools.pairwise(bounds):
                await stub.send(Chunk(chunk.data[start:end], chunk.stamp))
                if not await stub.sleep(self.delay / 1_000_000):
                    if end < len(chunk.data):
                        stub.flush(Chunk(chunk.data[end:], chunk.stamp))
                    return
        stub.close()
