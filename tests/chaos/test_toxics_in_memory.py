"""Toxics driven in memory through their stub: no sockets, exact chunks."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import pytest

from harness.chaos.stub import Channel, Chunk, Stub
from harness.chaos.toxics import LimitData, Slicer, ToxicType


def run(toxic: ToxicType, chunks: list[bytes], state: dict[str, Any] | None = None
        ) -> tuple[list[bytes | None], list[str]]:
    """Feed ``chunks`` then the end of stream; what came out, and what was reported."""
    reports: list[str] = []

    async def main() -> list[bytes | None]:
        source, sink = Channel(capacity=1024), Channel(capacity=1024)
        for data in chunks:
            source.push(Chunk(data, asyncio.get_running_loop().time()))
        source.push(None)
        stub = Stub(source, sink, rng=random.Random(1), state=state if state is not None else {},
                    report=lambda text, **_: reports.append(text), on_reset=lambda: None)
        await toxic.pipe(stub)
        return [None if item is None else item.data for item in sink.items]

    return asyncio.run(main()), reports


def test_limit_data_truncates_then_ends() -> None:
    out, reports = run(LimitData(bytes=10), [b"abcd", b"efgh", b"ijkl", b"mnop"])
    assert out == [b"abcd", b"efgh", b"ij", None]
    assert reports == ["bytes cut at offset 10"]


def test_limit_data_count_survives_a_restart() -> None:
    state: dict[str, Any] = {}
    assert run(LimitData(bytes=6), [b"abcd"], state)[0] == [b"abcd", None]
    assert run(LimitData(bytes=6), [b"efgh"], state)[0] == [b"ef", None]


def test_limit_data_zero_forwards_nothing() -> None:
    assert run(LimitData(bytes=0), [b"abcd"])[0] == [None]


def test_control_limit_data_above_the_traffic_forwards_everything() -> None:
    assert run(LimitData(bytes=100), [b"abcd", b"efgh"])[0] == [b"abcd", b"efgh", None]


@pytest.mark.parametrize(("average", "variation"), [(10, 5), (1, 0), (7, 6), (100, 0)])
def test_slicer_cuts_cover_the_chunk_in_bounded_pieces(average: int, variation: int) -> None:
    toxic = Slicer(average_size=average, size_variation=variation)
    for size in (0, 1, 9, 200, 32 * 1024):
        cuts = toxic.cuts(size, random.Random(size))
        pieces = [b - a for a, b in itertools.pairwise(cuts)]
        assert cuts[0] == 0 and cuts[-1] == size
        assert all(p > 0 for p in pieces) or size == 0
        assert all(p <= average + variation for p in pieces)


def test_slicer_pieces_reassemble_in_order() -> None:
    data = bytes(range(256))
    out, _ = run(Slicer(average_size=10, size_variation=5), [data])
    assert out[-1] is None and b"".join(p for p in out if p) == data and len(out) > 10
