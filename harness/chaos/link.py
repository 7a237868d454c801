"""One direction of a proxied connection, and the sockets it reads and writes.

A link is a pipeline, as in Toxiproxy: ``source -> [noop] -> toxic1 -> ... -> destination``,
one task per toxic, joined by channels. With no toxics, bytes are spliced from socket to
socket in the kernel where that can be done (:mod:`harness.chaos.splice`), else each read
is written straight on.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.chaos.splice import Pipes, Splicer, fast_path_possible
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

    def stop_splicing(self, *, flush: bool) -> None: ...


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

    def __init__(self, live: set[Side], buffer: ReadBuffer, pipes: Pipes | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.link: Link | None = None
        self.live = live  # the proxy's open sockets, so that stopping it misses none
        self.buffer = buffer
        self.pipes = pipes  # the proxy's, for the fast path; None: never spliced
        self.lost = False
        self.early: list[bytes] = []
        self.on_made: Callable[[], None] | None = None  # once connected (the upstream's)
        self._writable = asyncio.Event()
        self._writable.set()
        self.ended = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.pipes is not None and not fast_path_possible(
                asyncio.get_running_loop(), transport):
            self.pipes = None
        self.live.add(self)
        transport.pause_reading()  # until its link starts
        if self.on_made is not None:
            self.on_made()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer.view

    def buffer_updated(self, nbytes: int) -> None:
        data = self.buffer.view[:nbytes]
        if self.link is None:  # read before the link started (a loop that registered
            self.early.append(bytes(data))  # the reader anyway)
        elif self.link.feed(data):
            self.buffer.hand_over()

    def eof_received(self) -> bool:
        self.end()
        return True  # the connection closes both sockets itself

    def connection_lost(self, error: Exception | None) -> None:
        self.lost = True
        self.live.discard(self)
        self._writable.set()
        self.end()

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

    @property
    def fd(self) -> int:
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        return int(sock.fileno())

    def end(self) -> None:
        """The socket gave EOF, failed, or closed: the end of its link's source."""
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
        self.splicer: Splicer | None = None  # the fast path, while it runs
        self._runs = 0
        self._lock = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._paused = False

    def start(self) -> None:
        """Start reading. With no toxics, bytes are spliced to the destination or each
        read is written straight on; the pipeline is built when a toxic is added."""
        self.source.link = self
        if self.toxics:
            self._pipe()
        for data in self.source.early:
            self.feed(data)
        self.source.early.clear()
        if self.source.ended:
            self.feed_eof()
        elif (self.source.transport is not None and not self.source.lost
              and not self._splice()):
            self.source.transport.resume_reading()

    def _splice(self) -> bool:
        """Take the fast path if nothing stands in its way; True if it did. The
        destination must have nothing buffered, or spliced bytes would overtake it."""
        source, destination = self.source.transport, self.destination.transport
        if (self.piped or self.splicer is not None or self.source_ended
                or self._drainer is not None or not self._spliceable()
                or source is None or destination is None or self.connection.closing
                or destination.get_write_buffer_size()):
            return False
        loop, pipes = asyncio.get_running_loop(), self.source.pipes
        assert pipes is not None
        source.pause_reading()
        self._paused = False
        self.splicer = Splicer(
            loop, self.source.fd, self.destination.fd, pipes,
            on_read=self._spliced_read, on_written=self._spliced_written,
            on_source_end=self._spliced_source_end,
            on_destination_error=self._spliced_destination_error,
            on_unsupported=self._spliced_unsupported,
        )
        self.splicer.start()
        return True

    def _spliceable(self) -> bool:
        """Could this link's sockets be spliced at all (now that both are open)?"""
        source, destination = self.source.transport, self.destination.transport
        return (self.source.pipes is not None and self.destination.pipes is not None
                and source is not None and destination is not None
                and not self.source.lost and not self.destination.lost
                and not source.is_closing() and not destination.is_closing())

    def unsplice(self, *, flush: bool) -> bool:
        """Leave the fast path; what its pipe held is written on (in order, before
        anything else) if ``flush`` and the destination is open. True if it was on it.
        The source's reading stays paused: the caller says how reading goes on."""
        splicer, self.splicer = self.splicer, None
        if splicer is None:
            return False
        held = splicer.stop()
        destination = self.destination.transport
        if flush and held and destination is not None and not destination.is_closing():
            destination.write(held)
            self.bytes_written += len(held)
        return True

    def _spliced_read(self, count: int) -> None:
        self.bytes_read += count

    def _spliced_written(self, count: int) -> None:
        self.bytes_written += count

    def _spliced_source_end(self) -> None:
        self.splicer = None
        self.source.end()

    def _spliced_destination_error(self) -> None:
        """Writing failed: the destination goes as the copying path's transport would
        have made it go (aborted; its own link then ends the connection)."""
        self.splicer = None
        if self.destination.transport is not None:
            self.destination.transport.abort()

    def _spliced_unsupported(self) -> None:
        self.splicer = None
        self.source.pipes = None  # this socket is read the copying way from now on
        if self.source.transport is not None and not self.source.lost:
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
            if destination.get_write_buffer_size() > 0:
                return True
            self._splice()  # back on the fast path, if it was left with bytes buffered
            return False
        if self._drainer is None:
            self._pause()
            self._drainer = asyncio.get_running_loop().create_task(
                self._resume_when_drained(), name=f"chaos drain {self.direction}")
        return True

    def feed_eof(self) -> None:
        """The source ended (EOF, reset or error): its end, as in Toxiproxy."""
        self.connection.stop_splicing(flush=True)  # before either socket is closed
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
        """Read again once the destination has room; where the fast path can be taken,
        once it has sent everything (spliced bytes must not overtake buffered ones)."""
        transport = self.destination.transport
        empty = self._spliceable() and transport is not None
        if empty and transport is not None:
            transport.set_write_buffer_limits(high=0)  # resume_writing at an empty buffer
        try:
            with contextlib.suppress(ConnectionError):
                await self.destination.drain()
        finally:
            if empty and transport is not None:
                transport.set_write_buffer_limits()
        self._drainer = None
        if not self._splice():
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
                spliced = self.unsplice(flush=True)
                self._pipe()
                if spliced and not self.source.lost and self.source.transport is not None:
                    self.source.transport.resume_reading()
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
            if not self.toxics:
                await self._unpipe()

    async def _unpipe(self) -> None:
        """The last toxic is gone: take the pipeline down and go back to writing reads
        straight on (then to the fast path). What is in flight is written on first, in
        order. A pipeline carrying its end (the source ended, a toxic closed) stays."""
        if (self.source_ended or self.connection.closing
                or (self._writer is not None and self._writer.done())
                or None in self.tail.items
                or any(None in stage.stub.input.items or stage.stub.closed
                       for stage in self.stages)):
            return
        self._pause()
        for stage in self.stages:  # the noop alone is left: interrupted, it ends nothing
            stage.stub.interrupt()
        await asyncio.gather(*(stage.task for stage in self.stages), return_exceptions=True)
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        in_flight = [chunk for chunk in self.tail.items if chunk is not None]
        for stage in reversed(self.stages):
            in_flight += [chunk for chunk in stage.stub.input.items if chunk is not None]
        self.piped = False
        self.stages = []
        self.head = self.tail = _IDLE
        self._writer = None
        destination = self.destination.transport
        if destination is None or self.destination.lost or self.connection.closing:
            return
        for chunk in in_flight:
            destination.write(chunk.data)
            self.bytes_written += len(chunk.data)
        if self._splice():
            return
        if self._spliceable() or not self.destination.writable:
            self._drainer = asyncio.get_running_loop().create_task(
                self._resume_when_drained(), name=f"chaos drain {self.direction}")
        else:
            self._resume()

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


