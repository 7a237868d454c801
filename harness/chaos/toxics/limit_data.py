"""``limit_data``: let ``bytes`` bytes through, then close the connection."""

from __future__ import annotations

from dataclasses import dataclass

from harness.chaos.stub import Chunk, Stub
from harness.chaos.toxics.base import ToxicType, attribute


@dataclass(frozen=True)
class LimitData(ToxicType):
    """The count is per connection and direction, kept on the link, so it survives an
    update of the toxic. ``bytes <= 0`` forwards nothing and closes on the first chunk."""

    type = "limit_data"
    required = ("bytes",)

    bytes: int = attribute("bytes", "Bytes let through before the close.")

    async def pipe(self, stub: Stub) -> None:
        while (chunk := await stub.receive()) is not None:
            sent: int = stub.state.get("transmitted", 0)
            allowed = chunk.data[: max(self.bytes - sent, 0)]
            if allowed:
                await stub.send(Chunk(allowed, chunk.stamp))
                sent += len(allowed)
                stub.state["transmitted"] = sent
            if sent >= self.bytes:
                stub.report(
                    f"bytes cut at offset {sent}", offset=sent,
                    cut=len(chunk.data) - len(allowed),
                )
                stub.close()
                return
        stub.close()
