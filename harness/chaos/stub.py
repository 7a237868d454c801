"""The plumbing every toxic runs on: chunks, the channels between toxics, and the stub.

A link (one direction of one connection) is a pipeline, as in Toxiproxy:
``reader -> [noop] -> toxic1 -> toxic2 -> ... -> writer``. Each stage reads chunks from
its input channel and writes to its output channel; ``None`` on a channel is the end of
the stream. A toxic only ever sees its :class:`Stub`, never a socket, so a unit test can
drive it with two channels.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Chunk:
    """One read from the source socket, stamped with the loop time it was read at."""

    data: bytes
    stamp: float


Item = Chunk | None


class Interrupted(Exception):
    """The toxic must stop now (its chain is being changed); it flushed what it held."""


class Expired(Exception):
    """The deadline given to :meth:`Stub.receive` passed before a chunk arrived."""


class Channel:
    """A FIFO between two stages. ``put`` waits while it is full: back-pressure, so a
    slow toxic stops the proxy reading its source, as Toxiproxy's unbuffered channels do."""

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self.items: deque[Item] = deque()
        self.readable = asyncio.Event()
        self.writable = asyncio.Event()
        self.on_space: Callable[[], None] | None = None  # the reader may read again

    def __len__(self) -> int:
        return len(self.items)

    def push(self, item: Item) -> None:
        """Append even when full: flushing on interrupt must never wait."""
        self.items.append(item)
        self.readable.set()

    async def put(self, item: Item, interrupted: Callable[[], bool] = lambda: False) -> None:
        while len(self.items) >= self.capacity and not interrupted():
            self.writable.clear()
            await self.writable.wait()
        self.push(item)

    async def get(self) -> Item:
        while not self.items:
            self.readable.clear()
            await self.readable.wait()
        return self.pop()

    def pop(self) -> Item:
        item = self.items.popleft()
        self.writable.set()
        if self.on_space is not None and len(self.items) < self.capacity:
            self.on_space()
        return item

    def prepend(self, items: Iterable[Item]) -> None:
        self.items.extendleft(reversed(list(items)))
        if self.items:
            self.readable.set()


class Stub:
    """What one toxic sees of one link: its input, its output, its random draws, its state.

    ``state`` survives restarts of the toxic on the link (``limit_data`` keeps its count
    across updates); ``rng`` is derived from the run's seed, so draws replay.
    """

    def __init__(
        self,
        input: Channel,
        output: Channel,
        *,
        rng: random.Random,
        state: dict[str, Any],
        report: Callable[..., None],
        on_reset: Callable[[], None],
    ) -> None:
        self.input = input
        self.output = output
        self.rng = rng
        self.state = state
        self.report = report
        self._on_reset = on_reset
        self.closed = False
        self._interrupted = False
        self._sleeper: asyncio.Future[None] | None = None

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def interrupt(self) -> None:
        self._interrupted = True
        self.input.readable.set()
        self.output.writable.set()
        if self._sleeper is not None and not self._sleeper.done():
            self._sleeper.set_result(None)

    async def receive(self, until: float | None = None) -> Item:
        """The next chunk, or None at the end of the stream.

        Raises :class:`Interrupted` when the chain is being changed, and :class:`Expired`
        when the loop time ``until`` passes first.
        """
        loop = asyncio.get_running_loop()
        while not self.input.items:
            if self._interrupted:
                raise Interrupted
            handle = None
            if until is not None:
                if loop.time() >= until:
                    raise Expired
                handle = loop.call_later(until - loop.time(), self.input.readable.set)
            self.input.readable.clear()
            try:
                await self.input.readable.wait()
            finally:
                if handle is not None:
                    handle.cancel()
        if self._interrupted:
            raise Interrupted
        return self.input.pop()

    def unreceive(self, item: Item) -> None:
        """Put an item back at the head of the input, for the toxic's next run."""
        self.input.prepend([item])

    async def send(self, chunk: Chunk) -> None:
        await self.output.put(chunk, lambda: self._interrupted)

    def flush(self, chunk: Chunk) -> None:
        """Forward a held chunk at once (on interrupt: never drop data on the floor)."""
        self.output.push(chunk)

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; False if interrupted first."""
        if self._interrupted:
            return False
        if seconds <= 0:
            return True
        loop = asyncio.get_running_loop()
        self._sleeper = loop.create_future()
        handle = loop.call_later(seconds, _wake, self._sleeper)
        try:
            await self._sleeper
        finally:
            handle.cancel()
            self._sleeper = None
        return not self._interrupted

    def close(self, *, reset: bool = False) -> None:
        """End this toxic's output: the writer then closes the whole connection,
        with a TCP RST on both sockets if ``reset``."""
        if not self.closed:
            self.closed = True
            if reset:
                self._on_reset()
            self.output.push(None)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
