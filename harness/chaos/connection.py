"""One proxied connection: two links (upstream, downstream) between two sockets.

As in Toxiproxy, whichever link ends first (its source gave EOF, or a toxic closed it)
closes *both* sockets: there is no half-close pass-through. The connection closes with
a TCP RST on both sides when ``reset_peer`` fired.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.chaos.stub import Channel, Chunk, Interrupted, Stub
from harness.chaos.toxic import Toxic
from harness.chaos.toxics import Noop
from harness.timeline import CloseReason, Recorder

_NOOP = Noop()
_READ_SIZE = 32 * 1024  # Toxiproxy's io.Copy buffer: one read is one chunk


@dataclass
class _Stage:
    toxic: Toxic | None  # None: the hidden noop at the head of every chain
    stub: Stub
    task: asyncio.Task[bool]


class Link:
    """One direction of a connection: ``reader -> noop -> toxics... -> writer``."""

    def __init__(
        self,
        connection: Connection,
        direction: str,
        source: asyncio.StreamReader,
        destination: asyncio.StreamWriter,
        toxics: Sequence[Toxic],
    ) -> None:
        self.connection = connection
        self.direction = direction
        self.source = source
        self.destination = destination
        self.toxics = list(toxics)
        self.head = Channel()
        self.tail = Channel()
        self.stages: list[_Stage] = []
        self.states: dict[str, dict[str, Any]] = {}
        self.source_ended = False
        self.bytes_read = 0
        self.bytes_written = 0
        self._runs = 0
        self._lock = asyncio.Lock()

    def start(self) -> list[asyncio.Task[Any]]:
        self._build()
        return [
            asyncio.create_task(self._read(), name=f"chaos read {self.direction}"),
            asyncio.create_task(self._write(), name=f"chaos write {self.direction}"),
        ]

    def tasks(self) -> list[asyncio.Task[Any]]:
        return [stage.task for stage in self.stages]

    async def rechain(self, toxics: Sequence[Toxic]) -> None:
        """Put a new list of toxics on the live link.

        Every stage is interrupted (each flushes what it holds), the chunks in flight
        between stages go back to the head in order, and the new chain starts: every
        toxic of this direction restarts, re-rolling its toxicity. State (``limit_data``'s
        count) is kept by toxic name.
        """
        async with self._lock:
            if self.connection.closing or list(toxics) == self.toxics:
                return
            for stage in self.stages:
                stage.stub.interrupt()
            results = await asyncio.gather(
                *(stage.task for stage in self.stages), return_exceptions=True
            )
            if self.connection.closing:
                return
            names = {toxic.name for toxic in toxics}
            ends = any(
                stage.toxic is not None and stage.toxic.name not in names
                and stage.toxic.behaviour.closes_on_removal and applied is True
                for stage, applied in zip(self.stages, results)
            )
            in_flight: list[Chunk | None] = []
            for stage in reversed(self.stages[1:]):
                in_flight += stage.stub.input.items
            self.head.prepend(in_flight)
            for name in set(self.states) - names:
                del self.states[name]
            self.toxics = list(toxics)
            if ends:
                self.connection.note(f"{self.direction}: timeout toxic removed, closing")
                self.stages = []
                self.tail.push(None)
                return
            self._build()

    # -- the pipeline -------------------------------------------------------------------

    def _build(self) -> None:
        chain: list[Toxic | None] = [None, *self.toxics]
        inputs = [self.head] + [Channel(t.behaviour.capacity) for t in self.toxics]
        outputs = [*inputs[1:], self.tail]
        self._runs += 1
        self.stages = []
        for toxic, source, sink in zip(chain, inputs, outputs):
            name = toxic.name if toxic else ""
            stub = Stub(
                source, sink,
                rng=self.connection.rng(name, self.direction, self._runs),
                state=self.states.setdefault(name, {}),
                report=self._reporter(toxic),
                on_reset=self.connection.request_reset,
            )
            task = asyncio.create_task(self._run(toxic, stub), name=f"chaos {name or 'noop'}")
            self.stages.append(_Stage(toxic, stub, task))

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

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await self.source.read(_READ_SIZE):
                self.bytes_read += len(data)
                await self.head.put(Chunk(data, loop.time()))
        except OSError:
            pass  # a reset or error from the source is its end, as in Toxiproxy
        self.source_ended = True
        self.head.push(None)

    async def _write(self) -> None:
        try:
            while (chunk := await self.tail.get()) is not None:
                self.destination.write(chunk.data)
                self.bytes_written += len(chunk.data)
                await self.destination.drain()
        except OSError:
            pass
        by_toxic = not self.source_ended
        await self.connection.close(
            f"{self.direction} {'closed by a toxic' if by_toxic else 'source ended'}",
            by_proxy=by_toxic,
        )


class Connection:
    """A client connection and its upstream, for one attempt."""

    def __init__(
        self,
        attempt: int,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        *,
        recorder: Recorder,
        seed: int,
        on_closed: Callable[[Connection], None],
    ) -> None:
        self.attempt = attempt
        self.client = client
        self.upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.recorder = recorder
        self.seed = seed
        self.links: dict[str, Link] = {}
        self.closing = False
        self.reset = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._on_closed = on_closed
        self.closed = asyncio.Event()

    def rng(self, name: str, direction: str, run: int) -> random.Random:
        """Draws for one toxic's run on one link: a function of the seed alone."""
        return random.Random(f"{self.seed}:{name}:{self.attempt}:{direction}:{run}")

    def record(self, text: str, **data: Any) -> None:
        self.recorder.record(self.attempt, "toxic", text, **data)

    def note(self, text: str) -> None:
        self.recorder.record(self.attempt, "note", f"proxy: {text}")

    def request_reset(self) -> None:
        self.reset = True

    def start(self, upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
              toxics: Sequence[Toxic]) -> None:
        self.upstream = upstream
        (c_reader, c_writer), (u_reader, u_writer) = self.client, upstream
        for direction, source, destination in (
            ("upstream", c_reader, u_writer), ("downstream", u_reader, c_writer),
        ):
            link = Link(self, direction, source, destination,
                        [t for t in toxics if t.direction == direction])
            self.links[direction] = link
            self._tasks += link.start()

    async def rechain(self, toxics: Sequence[Toxic]) -> None:
        for direction, link in self.links.items():
            await link.rechain([t for t in toxics if t.direction == direction])

    async def close(self, why: str, *, by_proxy: bool = True) -> None:
        """Close both sockets (RST if a reset was asked for) and stop every task.

        Idempotent; called by a link's writer, by ``disable`` and by ``stop``. With
        ``by_proxy`` the attempt is marked closed by the proxy; otherwise the fake server
        records how it ended.
        """
        if self.closing:
            await self.closed.wait()
            return
        self.closing = True
        if by_proxy:
            reason: CloseReason = "proxy-reset" if self.reset else "proxy-close"
            self.recorder.close_attempt(self.attempt, reason)
        self.note(f"closed both sides{' with RST' if self.reset else ''} ({why})")
        writers = [self.client[1]] + ([self.upstream[1]] if self.upstream else [])
        for writer in writers:
            if self.reset:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                writer.transport.abort()
            else:
                writer.close()
        current = asyncio.current_task()
        tasks = [t for t in self._tasks + self._stage_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in writers:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
        self._on_closed(self)
        self.closed.set()

    def _stage_tasks(self) -> list[asyncio.Task[Any]]:
        return [task for link in self.links.values() for task in link.tasks()]
