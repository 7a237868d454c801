"""One direction of a proxied connection, and the sockets it reads and writes.

A link is a pipeline, as in Toxiproxy: ``source -> [noop] -> toxic1 -> ... -> destination``,
one task per toxic, joined by channels. With no toxics, reads are written straight on.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.chaos.stub import Channel, Chunk, Interrupted, Stub
from harness.chaos.toxic import Toxic
from harness.chaos.toxics import Noop

_NOOP = Noop()
_CHUNK = 32 * 1024  # Toxiproxy's io.Copy buffer: one read is one chunk


_IDLE = Channel(capacity=0)  # both ends of a link with no pipeline (yet): never used


class Owner(Protocol):
    """What a link needs of the connection it belongs to (``connection.Connection``):
    named here, so that this module does not import the one that builds links."""

    @property
    def closing(self) -> bool: ...

    def rng(self, name: str, direction: str, run: int) -> random.Random: ...

    def record(self, text: str, **data: Any) -> None: ...

    def note(self, text: str) -> None: ...

    def request_reset(self) -> None: ...

    def close_soon(self, why: str, *, by_proxy: bool) -> None: ...


@dataclass
class _Stage:
    toxic: Toxic | None  # None: the hidden noop at the head of every chain
    stub: Stub
    task: asyncio.Task[bool]


class ReadBuffer:
    """The one buffer every socket of a proxy reads into.

    The sockets share one event loop and each read is written on (or copied into the
    pipeline) before the next, so one buffer serves them all and a read allocates
    nothing. A transport that could not send everything at once may keep a view of
    it; the buffer is then handed over and a new one made.
    """

    __slots__ = ("view",)

    def __init__(self, size: int = 256 * 1024) -> None:
        self.view = memoryview(bytearray(size))

    def hand_over(self) -> None:
        self.view = memoryview(bytearray(len(self.view)))


class Side(asyncio.BufferedProtocol):
    """One socket of a proxied connection: what it reads goes to the link it feeds.

    Protocol callbacks rather than streams keep the no-toxic path at one ``write`` per
    read, with no task switch and no allocation (reads land in the proxy's
    :class:`ReadBuffer`); reading pauses while the destination or the pipeline's first
    channel is full (back-pressure, as in Toxiproxy).
    """

    def __init__(self, live: set[Side], buffer: ReadBuffer) -> None:
        self.transport: asyncio.Transport | None = None
        self.link: Link | None = None
        self.live = live  # the proxy's open sockets, so that stopping it misses none
        self.buffer = buffer
        self.lost = False
        self.early: list[bytes] = []
        self._writable = asyncio.Event()
        self._writable.set()
        self.ended = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.live.add(self)
        transport.pause_reading()  # until its link starts

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer.view

    def buffer_updated(self, nbytes: int) -> None:
        data = self.buffer.view[:nbytes]
        if self.link is None:  # read before the link started (a loop that registered
            self.early.append(bytes(data))  # the reader anyway)
        elif self.link.feed(data):
            self.buffer.hand_over()

    def eof_received(self) -> bool:
        self._end()
        return True  # the connection closes both sockets itself

    def connection_lost(self, error: Exception | None) -> None:
        self.lost = True
        self.live.discard(self)
        self._writable.set()
        self._end()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def drain(self) -> None:
        await self._writable.wait()
        if self.lost:
            raise ConnectionResetError("connection lost")

    @property
    def writable(self) -> bool:
        return self._writable.is_set()

    def _end(self) -> None:
        if not self.ended:
            self.ended = True
            if self.link is not None:
                self.link.feed_eof()


class Link:
    """One direction of a connection: ``source -> noop -> toxics... -> destination``."""

    def __init__(
        self, connection: Owner, direction: str, source: Side, destination: Side,
        toxics: Sequence[Toxic],
    ) -> None:
        self.connection = connection
        self.direction = direction
        self.source = source
        self.destination = destination
        self.toxics = list(toxics)
        self.head: Channel = _IDLE  # the pipeline's ends, made when it is first built
        self.tail: Channel = _IDLE
        self.stages: list[_Stage] = []
        self.states: dict[str, dict[str, Any]] = {}
        self.source_ended = False
        self.bytes_read = 0
        self.bytes_written = 0
        self.piped = False
        self._runs = 0
        self._lock = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._paused = False

    def start(self) -> None:
        """Start reading. With no toxics, each read is written straight to the destination
        (the fast path); the pipeline is built the first time a toxic is added."""
        self.source.link = self
        if self.toxics:
            self._pipe()
        for data in self.source.early:
            self.feed(data)
        self.source.early.clear()
        if self.source.ended:
            self.feed_eof()
        elif self.source.transport is not None and not self.source.lost:
            self.source.transport.resume_reading()

    def _pipe(self) -> None:
        self.piped = True
        self.head, self.tail = Channel(), Channel()
        self.head.on_space = self._resume
        self._build()
        self._writer = asyncio.create_task(self._write(), name=f"chaos write {self.direction}")

    def tasks(self) -> list[asyncio.Task[Any]]:
        own = [task for task in (self._writer, self._drainer) if task is not None]
        return own + [stage.task for stage in self.stages]

    def feed(self, data: bytes | memoryview) -> bool:
        """A read from the source: through the pipeline (copied), or straight on. True
        if the destination kept ``data`` itself to send later."""
        self.bytes_read += len(data)
        if self.piped:
            stamp = asyncio.get_running_loop().time()
            for start in range(0, len(data), _CHUNK):  # Toxiproxy's chunks are 32 KiB reads
                self.head.push(Chunk(bytes(data[start:start + _CHUNK]), stamp))
            if len(self.head) >= self.head.capacity:
                self._pause()
            return False
        destination = self.destination.transport
        if destination is None or self.destination.lost:
            return False
        destination.write(data)
        self.bytes_written += len(data)
        if self.destination.writable:
            return destination.get_write_buffer_size() > 0
        if self._drainer is None:
            self._pause()
            self._drainer = asyncio.get_running_loop().create_task(
                self._resume_when_drained(), name=f"chaos drain {self.direction}")
        return True

    def feed_eof(self) -> None:
        """The source ended (EOF, reset or error): its end, as in Toxiproxy."""
        if self.source_ended:
            return
        self.source_ended = True
        if self.piped:
            self.head.push(None)
        else:
            self.connection.close_soon(f"{self.direction} source ended", by_proxy=False)

    def _pause(self) -> None:
        if not self._paused and self.source.transport is not None and not self.source.lost:
            self._paused = True
            self.source.transport.pause_reading()

    def _resume(self) -> None:
        if self._paused and self.source.transport is not None and not self.source.lost:
            self._paused = False
            self.source.transport.resume_reading()

    async def _resume_when_drained(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.destination.drain()
        self._drainer = None
        self._resume()

    async def rechain(self, toxics: Sequence[Toxic]) -> None:
        """Put a new list of toxics on the live link, restarting what Toxiproxy restarts.

        A toxic appended restarts the one before it; a toxic removed restarts the one
        before it, after its own pending chunks move on; a toxic updated restarts alone.
        A restart re-rolls the toxicity and restarts timers; state (``limit_data``'s
        count) is kept by toxic name. Any other change restarts the whole chain.
        """
        async with self._lock:
            if self.connection.closing or list(toxics) == self.toxics:
                return
            if not self.piped:
                self.toxics = list(toxics)
                self._pipe()
                return
            old = [t.name for t in self.toxics]
            new = [t.name for t in toxics]
            if new[:-1] == old:
                await self._append(toxics[-1])
            elif len(new) == len(old) - 1 and (gone := _removed(old, new)) is not None:
                await self._remove(gone + 1)
            elif new == old:
                for index, toxic in enumerate(toxics, start=1):
                    if self.stages[index].toxic != toxic:
                        await self._restart(index, toxic)
            else:
                await self._rebuild(toxics)
            self.toxics = list(toxics)
            for name in set(self.states) - set(new) - {""}:
                del self.states[name]

    async def _stop(self, index: int) -> bool:
        """Interrupt one stage; True if its toxic had applied (and it is still open)."""
        stage = self.stages[index]
        stage.stub.interrupt()
        result = (await asyncio.gather(stage.task, return_exceptions=True))[0]
        return result is True

    async def _restart(self, index: int, toxic: Toxic | None,
                       output: Channel | None = None) -> None:
        stage = self.stages[index]
        await self._stop(index)
        if not stage.stub.closed:
            self.stages[index] = self._stage(toxic, stage.stub.input,
                                             output or stage.stub.output)

    async def _append(self, toxic: Toxic) -> None:
        channel = Channel(toxic.behaviour.capacity)
        last = len(self.stages) - 1
        await self._restart(last, self.stages[last].toxic, channel)
        self.stages.append(self._stage(toxic, channel, self.tail))

    async def _remove(self, index: int) -> None:
        stage = self.stages[index]
        applied = await self._stop(index)
        assert stage.toxic is not None
        if stage.toxic.behaviour.closes_on_removal and applied:
            self.connection.note(f"{self.direction}: {stage.toxic.name} removed, closing")
            stage.stub.close()
            return
        before = self.stages[index - 1]
        await self._stop(index - 1)
        while stage.stub.input.items:  # its pending chunks go on, after what it sent
            stage.stub.output.push(stage.stub.input.items.popleft())
        del self.stages[index]
        if not before.stub.closed:
            self.stages[index - 1] = self._stage(before.toxic, before.stub.input,
                                                 stage.stub.output)

    async def _rebuild(self, toxics: Sequence[Toxic]) -> None:
        """Restart everything: chunks in flight between stages go back to the head."""
        for stage in self.stages:
            stage.stub.interrupt()
        await asyncio.gather(*(stage.task for stage in self.stages), return_exceptions=True)
        in_flight: list[Chunk | None] = []
        for stage in reversed(self.stages[1:]):
            in_flight += stage.stub.input.items
        self.head.prepend(in_flight)
        self.toxics = list(toxics)
        self._build()

    # -- the pipeline -------------------------------------------------------------------

    def _build(self) -> None:
        chain: list[Toxic | None] = [None, *self.toxics]
        inputs = [self.head] + [Channel(t.behaviour.capacity) for t in self.toxics]
        outputs = [*inputs[1:], self.tail]
        self.stages = [self._stage(toxic, source, sink)
                       for toxic, source, sink in zip(chain, inputs, outputs)]

    def _stage(self, toxic: Toxic | None, source: Channel, sink: Channel) -> _Stage:
        """Start one run of a toxic between two channels, with fresh draws."""
        self._runs += 1
        name = toxic.name if toxic else ""
        stub = Stub(
            source, sink,
            rng=self.connection.rng(name, self.direction, self._runs),
            state=self.states.setdefault(name, {}),
            report=self._reporter(toxic),
            on_reset=self.connection.request_reset,
        )
        task = asyncio.create_task(self._run(toxic, stub), name=f"chaos {name or 'noop'}")
        return _Stage(toxic, stub, task)

    async def _run(self, toxic: Toxic | None, stub: Stub) -> bool:
        """Roll the toxicity once for this run, then pipe; True if the toxic applied."""
        applied = toxic is not None and stub.rng.random() < toxic.toxicity
        if toxic is not None:
            stub.report(
                "active" if applied else "skipped by its toxicity roll",
                applied=applied, toxicity=toxic.toxicity,
            )
        behaviour = toxic.behaviour if toxic is not None and applied else _NOOP
        with contextlib.suppress(Interrupted):
            await behaviour.pipe(stub)
        return applied

    def _reporter(self, toxic: Toxic | None) -> Callable[..., None]:
        def report(text: str, **data: Any) -> None:
            if toxic is not None:
                data.setdefault("offset", self.bytes_written)
                self.connection.record(
                    f"{toxic.name}: {text}",
                    toxic=toxic.name, type=toxic.type, stream=self.direction, **data,
                )

        return report

    async def _write(self) -> None:
        try:
            while (chunk := await self.tail.get()) is not None:
                if self.destination.transport is None or self.destination.lost:
                    break
                self.destination.transport.write(chunk.data)
                self.bytes_written += len(chunk.data)
                await self.destination.drain()
        except ConnectionError:
            pass
        by_toxic = not self.source_ended
        self.connection.close_soon(
            f"{self.direction} {'closed by a toxic' if by_toxic else 'source ended'}",
            by_proxy=by_toxic,
        )


def _removed(old: list[str], new: list[str]) -> int | None:
    """The index in ``old`` of the one name ``new`` lacks, if that is the only change."""
    for index in range(len(old)):
        if old[:index] + old[index + 1:] == new:
            return index
    return None


