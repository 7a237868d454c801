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
from typing import Any

from harness.chaos.link import Link, Side
from harness.chaos.toxic import Toxic
from harness.timeline import CloseReason, Recorder


class Connection:
    """A client connection and its upstream, for one attempt."""

    def __init__(
        self, attempt: int, client: Side, *, recorder: Recorder, seed: int,
        on_closed: Callable[[Connection], None],
    ) -> None:
        self.attempt = attempt
        self.client = client
        self.upstream: Side | None = None
        self.recorder = recorder
        self.seed = seed
        self.links: dict[str, Link] = {}
        self.closing = False
        self.reset = False
        self.dial: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
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

    def start(self, upstream: Side, toxics: Sequence[Toxic]) -> None:
        self.upstream = upstream
        for direction, source, destination in (
            ("upstream", self.client, upstream), ("downstream", upstream, self.client),
        ):
            link = Link(self, direction, source, destination,
                        [t for t in toxics if t.direction == direction])
            self.links[direction] = link
        for link in self.links.values():
            link.start()

    async def rechain(self, toxics: Sequence[Toxic]) -> None:
        for direction, link in list(self.links.items()):
            await link.rechain([t for t in toxics if t.direction == direction])

    def close_soon(self, why: str, *, by_proxy: bool) -> None:
        """``close`` from a protocol callback or a task that must not wait for it: at
        once when no task needs stopping (the usual case, no toxics), else in a task."""
        if self.closing or self._closer is not None:
            return
        current = asyncio.current_task()
        if not [t for t in self._tasks() if t is not current]:
            self._shut(why, by_proxy=by_proxy, now=False)
            self._finish()
        else:
            self._closer = asyncio.get_running_loop().create_task(
                self.close(why, by_proxy=by_proxy), name="chaos close")

    async def close(self, why: str, *, by_proxy: bool = True, now: bool = False) -> None:
        """Close both sockets (RST if a reset was asked for) and stop every task.

        Idempotent. A plain close still sends what was written (FIN after it); ``now``
        drops it (the proxy is stopping). With ``by_proxy`` the attempt is marked closed
        by the proxy; otherwise the fake server records how it ended.
        """
        if self.closing:
            await self.closed.wait()
            return
        self._shut(why, by_proxy=by_proxy, now=now)
        current = asyncio.current_task()
        tasks = [t for t in self._tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._finish()

    def stop_splicing(self, *, flush: bool) -> None:
        """Take both links off the fast path (a socket is about to close): with
        ``flush``, what their pipes held is written on before the close."""
        for link in self.links.values():
            link.unsplice(flush=flush)

    def _shut(self, why: str, *, by_proxy: bool, now: bool) -> None:
        self.closing = True
        self.stop_splicing(flush=not (self.reset or now))
        if by_proxy:
            reason: CloseReason = "proxy-reset" if self.reset else "proxy-close"
            self.recorder.close_attempt(self.attempt, reason)
        self.note(f"closed both sides{' with RST' if self.reset else ''} ({why})")
        for side in (self.client, self.upstream):
            transport = side.transport if side is not None else None
            if transport is None:
                continue
            if self.reset:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if self.reset or now:
                transport.abort()
            else:
                transport.close()

    def _finish(self) -> None:
        self._on_closed(self)
        self.closed.set()

    @property
    def gone(self) -> bool:
        """Both sockets are closed for good."""
        return all(side is None or side.transport is None or side.lost
                   for side in (self.client, self.upstream))

    def abort(self) -> None:
        """Drop both sockets at once, even mid-flush (the proxy is stopping)."""
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None and not side.lost:
                side.transport.abort()

    def _tasks(self) -> list[asyncio.Task[Any]]:
        """The tasks still running for this connection (a finished dial is not one)."""
        tasks = [task for link in self.links.values() for task in link.tasks()]
        if self.dial is not None:
            tasks.append(self.dial)
        return [task for task in tasks if not task.done()]
