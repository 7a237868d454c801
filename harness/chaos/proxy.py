"""ChaosProxy: an embedded, Toxiproxy-compatible TCP proxy with per-attempt toxics.

It runs in an event loop of the harness (its own thread when used synchronously), so
there is no service to start. Each accepted client opens an attempt in the
:class:`~harness.timeline.Recorder`; the upstream socket is bound before it connects so
that the fake server joins the same attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import secrets
import select
import socket
import threading
from collections.abc import Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from harness.attempts import AttemptsLike
from harness.chaos.connection import Connection
from harness.chaos.errors import AlreadyExists, ChaosError, InvalidToxic, NotFound
from harness.chaos.link import ReadBuffer, Side
from harness.chaos.splice import Pipes
from harness.chaos.toxic import Toxic, parse_attempts
from harness.loop import LoopThread
from harness.timeline import Recorder, Timeline

T = TypeVar("T")


def split_address(address: str, *, what: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` into its parts; an empty host means loopback."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InvalidToxic(f"{what} {address!r} is not host:port")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ChaosProxy:
    """A proxy in front of ``upstream`` that applies toxics, per attempt if asked.

    >>> with FakeSMTPServer(recorder=recorder) as server, ChaosProxy(
    ...     (server.host, server.port), [Toxic(type="latency", attributes={"latency": 100})],
    ...     recorder=recorder, seed=1) as proxy:
    ...     smtplib.SMTP(proxy.host, proxy.port)

    ``down`` makes the proxy act as down for some attempts: a refused connection cannot
    be counted, so those attempts are accepted and reset at once (the client sees
    ECONNRESET); ``disable()`` refuses for real.

    Control methods come in two flavours: plain ones (``add_toxic``) for code outside the
    proxy's loop, and ``*_async`` ones for code on it (the HTTP API, async tests).
    """

    def __init__(
        self,
        upstream: tuple[str, int] | str,
        toxics: Iterable[Toxic] = (),
        *,
        name: str = "harness",
        listen: str = "127.0.0.1:0",
        enabled: bool = True,
        recorder: Recorder | None = None,
        seed: int | None = None,
        down: AttemptsLike | None = None,
    ) -> None:
        self.name = name
        self.down = None if down is None else parse_attempts(down, "down")
        self.upstream = upstream if isinstance(upstream, str) else join_address(*upstream)
        split_address(self.upstream, what="upstream")
        self.listen = join_address(*split_address(listen, what="listen"))
        self.enabled = enabled
        self.recorder = recorder or Recorder()
        self.seed: int = secrets.randbits(64) if seed is None else seed
        self._toxics: dict[str, Toxic] = {}
        for toxic in toxics:
            self._add(toxic)
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._thread: LoopThread | None = None
        self._own_thread = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False
        self._count = threading.Condition()
        self._lingering: set[Connection] = set()
        self._sides: set[Side] = set()  # every socket open, even one not yet in a connection
        self._buffer = ReadBuffer()
        self._pipes = Pipes()
        self._accepting = False
        self._resolved: tuple[str, tuple[socket.AddressFamily, tuple[Any, ...], str]] | None = None

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        return f"<ChaosProxy {self.name} {self.listen} -> {self.upstream} {state} seed={self.seed}>"

    # -- where it listens and what it holds -----------------------------------------------

    @property
    def host(self) -> str:
        return split_address(self.listen, what="listen")[0]

    @property
    def port(self) -> int:
        port = split_address(self.listen, what="listen")[1]
        if port == 0:
            raise ChaosError("the proxy has no port yet: start it (enabled) first")
        return port

    @property
    def toxics(self) -> list[Toxic]:
        """Upstream toxics first, then downstream, each in creation order (as the API)."""
        ordered = list(self._toxics.values())
        return [t for t in ordered if t.direction == "upstream"] + [
            t for t in ordered if t.direction == "downstream"
        ]

    def toxic(self, name: str) -> Toxic:
        try:
            return self._toxics[name]
        except KeyError:
            raise NotFound("toxic not found") from None

    @property
    def running(self) -> bool:
        return self._running

    @property
    def timeline(self) -> Timeline:
        return self.recorder.timeline()

    @property
    def connections(self) -> int:
        """Connections open through the proxy right now."""
        return len(self._connections)

    @property
    def spliced_bytes(self) -> int:
        """Bytes carried on the zero-copy fast path (links with no toxic), both ways."""
        return self._pipes.spliced

    def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        """Block until exactly ``count`` connections are open (tests wait on this, not
        on sleeps); raise TimeoutError otherwise."""
        with self._count:
            if not self._count.wait_for(lambda: len(self._connections) == count, timeout):
                raise TimeoutError(
                    f"{len(self._connections)} connections open, not {count}, after {timeout}s")

    def to_json(self) -> dict[str, Any]:
        """Toxiproxy's proxy object (without its stray ``Logger`` key)."""
        return {
            "name": self.name, "listen": self.listen, "upstream": self.upstream,
            "enabled": self.enabled, "toxics": [t.to_json() for t in self.toxics],
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, on: LoopThread | None = None) -> ChaosProxy:
        """Start on a loop thread of its own, or on ``on``, a running one: the fake
        server's (``server.thread``), so that no hop between the proxy and the server waits
        for another thread to wake (about a fifth more SMTP transactions per second, see
        docs/performance.md); the proxy then stops before that thread does. Does nothing
        if already started."""
        if self._running:
            return self
        if on is None:
            self._thread = LoopThread.running(f"chaos-proxy {self.name}", self.start_async())
        else:
            on.call(self.start_async())
            on.guests.append(self._stop_as_guest)
            self._thread = on
        self._own_thread = on is None
        return self

    def stop(self) -> None:
        """Close every connection and the listener. Does nothing if not started."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._own_thread:
            thread.finish(self.stop_async())
        else:
            with contextlib.suppress(ValueError):  # not when its host thread stops it
                thread.guests.remove(self._stop_as_guest)
            if not thread.loop.is_closed():  # else its connections went with the loop
                thread.call(self.stop_async())

    async def _stop_as_guest(self) -> None:
        self._thread = None
        await self.stop_async()

    async def start_async(self) -> ChaosProxy:
        """Start on the running loop (listening at once if enabled)."""
        if not self._running:
            self._loop = asyncio.get_running_loop()
            if self.enabled:
                await self._listen()
            self._running = True
        return self

    async def stop_async(self) -> None:
        if self._running:
            await self._unlisten("proxy stopped", by_proxy=False)
            # A connection being accepted or dialled as the listener closed has a socket
            # no connection holds yet: give those loop turns to show up, and drop them.
            for turn in range(100):
                for side in list(self._sides):
                    if side.transport is not None:
                        side.transport.abort()
                if turn >= 3 and not self._sides:
                    break
                await asyncio.sleep(0)
            self._pipes.close()
            self._running = False

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> ChaosProxy:
        return await self.start_async()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop_async()

    # -- control, on the proxy's loop ------------------------------------------------------

    async def enable_async(self) -> None:
        """Listen again, on the same port as before."""
        if not self.enabled:
            self.enabled = True
            if self._running:
                try:
                    await self._listen()
                except ChaosError:
                    self.enabled = False
                    raise

    async def disable_async(self) -> None:
        """Refuse new connections and close every live one; the toxics stay."""
        if self.enabled:
            self.enabled = False
            await self._unlisten("proxy disabled")

    async def configure_async(self, *, listen: str | None = None,
                              upstream: str | None = None) -> None:
        """Change where it listens or connects; live connections are dropped if so."""
        new_listen = self.listen if listen is None else join_address(
            *split_address(listen, what="listen"))
        new_upstream = self.upstream if upstream is None else join_address(
            *split_address(upstream, what="upstream"))
        if (new_listen, new_upstream) == (self.listen, self.upstream):
            return
        live = self._server is not None
        if live:
            await self._unlisten("proxy reconfigured")
        self.listen, self.upstream = new_listen, new_upstream
        if live:
            await self._listen()

    async def add_toxic_async(self, toxic: Toxic) -> Toxic:
        self._add(toxic)
        await self._rechain()
        return toxic

    async def update_toxic_async(self, name: str, attributes: Mapping[str, Any] | None = None,
                                 toxicity: float | None = None) -> Toxic:
        """Change some attributes (the others keep their values) or the toxicity."""
        toxic = self.toxic(name).updated(attributes, toxicity)
        self._toxics[name] = toxic
        await self._rechain()
        return toxic

    async def remove_toxic_async(self, name: str) -> None:
        self.toxic(name)
        del self._toxics[name]
        await self._rechain()

    async def reset_async(self) -> None:
        """Toxiproxy's ``/reset`` for this proxy: enable it and remove every toxic."""
        await self.enable_async()
        self._toxics.clear()
        await self._rechain()

    # -- control, from outside the loop --------------------------------------------------------

    def enable(self) -> None:
        self._call(self.enable_async())

    def disable(self) -> None:
        self._call(self.disable_async())

    def add_toxic(self, toxic: Toxic) -> Toxic:
        return self._call(self.add_toxic_async(toxic))

    def update_toxic(self, name: str, attributes: Mapping[str, Any] | None = None,
                     toxicity: float | None = None) -> Toxic:
        return self._call(self.update_toxic_async(name, attributes, toxicity))

    def remove_toxic(self, name: str) -> None:
        self._call(self.remove_toxic_async(name))

    def reset(self) -> None:
        self._call(self.reset_async())

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None or not self._running:
            return asyncio.run(coro)  # not started: only the settings change
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is self._loop:
                coro.close()
                raise ChaosError(
                    "this proxy runs on this event loop: await the *_async method instead"
                )
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30.0)

    # -- internals -----------------------------------------------------------------------------

    def _add(self, toxic: Toxic) -> None:
        if toxic.name in self._toxics:
            raise AlreadyExists("toxic already exists")
        self._toxics[toxic.name] = toxic

    async def _resolve(self) -> tuple[socket.AddressFamily, tuple[Any, ...], str]:
        """Family, address and local bind host of the upstream; literals are cached."""
        if self._resolved is not None and self._resolved[0] == self.upstream:
            return self._resolved[1]
        host, port = split_address(self.upstream, what="upstream")
        try:  # an address literal needs no resolver thread
            ip = ipaddress.ip_address(host)
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
            family, _, _, _, address = infos[0]
            ip = ipaddress.ip_address(address[0])
            cache = False
        else:
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            address, cache = (host, port), True
        v6 = family == socket.AF_INET6
        local = ("::1" if v6 else "127.0.0.1") if ip.is_loopback else ("::" if v6 else "0.0.0.0")
        resolved = (family, address, local)
        if cache:
            self._resolved = (self.upstream, resolved)
        return resolved

    def _forget(self, connection: Connection) -> None:
        with self._count:
            self._connections.discard(connection)
            self._count.notify_all()
        if not connection.gone:  # still flushing its last bytes before the FIN
            self._lingering.add(connection)

    def _for_attempt(self, attempt: int) -> list[Toxic]:
        return [t for t in self.toxics if attempt in t.selector]

    async def _rechain(self) -> None:
        for connection in list(self._connections):
            await connection.rechain(self._for_attempt(connection.attempt))

    async def _listen(self) -> None:
        host, port = split_address(self.listen, what="listen")
        self._accepting = True
        try:
            self._server = await asyncio.get_running_loop().create_server(
                lambda: _ClientSide(self), host, port, reuse_address=True, backlog=1024,
                family=socket.AF_INET6 if ":" in host else socket.AF_INET,
            )
        except OSError as error:
            self._accepting = False
            raise ChaosError(
                f"listen tcp {self.listen}: {error.strerror or error}") from None
        sockname = self._server.sockets[0].getsockname()
        self.listen = join_address(str(sockname[0]), int(sockname[1]))

    async def _unlisten(self, why: str, *, by_proxy: bool = True) -> None:
        self._accepting = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            await connection.close(why, by_proxy=by_proxy, now=True)
        for connection in self._lingering:
            connection.abort()
        self._lingering.clear()
        if server is not None:
            await server.wait_closed()

    def _accept(self, client: Side) -> None:
        """A client connected: open its attempt, then dial upstream before reading."""
        assert client.transport is not None
        if not self._accepting:  # accepted just as the proxy stopped listening
            client.transport.abort()
            return
        peer = client.transport.get_extra_info("peername")
        attempt = self.recorder.open_attempt((str(peer[0]), int(peer[1])) if peer else None)
        connection = Connection(attempt, client, recorder=self.recorder, seed=self.seed,
                                on_closed=self._forget)
        with self._count:
            self._connections.add(connection)
            self._count.notify_all()
        if self.down is not None and attempt in self.down:
            connection.request_reset()
            connection.note("down for this attempt: reset at accept")
            connection.close_soon("proxy down for this attempt", by_proxy=True)
            return
        if not self._dial_at_once(connection):
            connection.dial = asyncio.get_running_loop().create_task(
                self._connect(connection), name=f"chaos dial #{attempt}")

    def _dial_at_once(self, connection: Connection) -> bool:
        """Dial without a task in the usual case: an address literal, a selector loop, a
        loopback connect made within the call. True if it took the dial over."""
        loop = asyncio.get_running_loop()
        if (not hasattr(loop, "_make_socket_transport") or self._resolved is None
                or self._resolved[0] != self.upstream):
            return False
        resolved = self._resolved[1]
        sock = None
        try:
            sock = self._bound(connection.attempt, resolved)
            connected = _connected_at_once(sock, resolved[1])
        except OSError as error:
            if sock is not None:
                sock.close()
            self._unreachable(connection, error)
            return True
        if connected:
            self._join(connection, sock)
        else:
            connection.dial = loop.create_task(
                self._connect(connection, sock), name=f"chaos dial #{connection.attempt}")
        return True

    async def _connect(self, connection: Connection, sock: socket.socket | None = None) -> None:
        """Dial the waiting way (``sock``: bound, its connect already started)."""
        loop = asyncio.get_running_loop()
        try:
            resolved = await self._resolve()
            if sock is None:
                sock = self._bound(connection.attempt, resolved)
            try:
                await loop.sock_connect(sock, resolved[1])
            except OSError as error:
                if error.errno != errno.EISCONN:  # made since it was started: connected
                    raise
        except OSError as error:
            if sock is not None:
                sock.close()
            self._unreachable(connection, error)
            return
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        if connection.closing:  # disabled or stopped while dialling
            sock.close()
            return
        if self._join(connection, sock):
            return
        # From here the transport owns the socket: a close of the connection while it is
        # being made must not lose it, so it is shielded and aborted once made.
        upstream = self._upstream_side(connection)
        made = loop.create_task(loop.create_connection(lambda: upstream, sock=sock))
        try:
            await asyncio.shield(made)
        except asyncio.CancelledError:
            made.add_done_callback(_abort_made)
            raise

    def _bound(self, attempt: int,
               resolved: tuple[socket.AddressFamily, tuple[Any, ...], str]) -> socket.socket:
        """A socket for the upstream, bound first so that the server can join the attempt."""
        family, _, local = resolved
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.bind((local, 0))
            self.recorder.bind_upstream_port(sock.getsockname()[1], attempt)
        except BaseException:
            sock.close()
            raise
        return sock

    def _join(self, connection: Connection, sock: socket.socket) -> bool:
        """Give the connected socket its transport the selector loop's own way (no task,
        no waiter): the links start when it is made, on the next turn. False if the loop
        has no such step."""
        make = getattr(asyncio.get_running_loop(), "_make_socket_transport", None)
        if make is None:
            return False
        make(sock, self._upstream_side(connection))
        return True

    def _upstream_side(self, connection: Connection) -> Side:
        upstream = Side(self._sides, self._buffer, self._pipes)
        upstream.on_made = lambda: self._start(connection, upstream)
        return upstream

    def _start(self, connection: Connection, upstream: Side) -> None:
        """The upstream is connected: start both links, unless closed meanwhile."""
        if connection.closing:  # disabled or stopped while dialling
            if upstream.transport is not None:
                upstream.transport.abort()
            return
        connection.start(upstream, self._for_attempt(connection.attempt))

    def _unreachable(self, connection: Connection, error: OSError) -> None:
        connection.note(f"upstream {self.upstream} unreachable: {error.strerror or error}")
        connection.close_soon("upstream unreachable", by_proxy=True)


class _ClientSide(Side):
    """The client's socket: like every side, nothing is read from it until its link
    starts, which is once the upstream is connected."""

    def __init__(self, proxy: ChaosProxy) -> None:
        super().__init__(proxy._sides, proxy._buffer, proxy._pipes)
        self._proxy = proxy

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._proxy._accept(self)


def _connected_at_once(sock: socket.socket, address: tuple[Any, ...]) -> bool:
    """Start a non-blocking connect; True if it is already made (on loopback the
    handshake completes within the call), which saves waiting a loop turn for it."""
    code = sock.connect_ex(address)
    if code == 0:
        return True
    if not hasattr(select, "poll"):
        return False
    if code not in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
        raise OSError(code, os.strerror(code))
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    if not poller.poll(0):
        return False  # sock_connect waits for it (connect again: EALREADY, then waits)
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))
    return True


def _abort_made(made: asyncio.Task[tuple[asyncio.Transport, Side]]) -> None:
    if not made.cancelled() and made.exception() is None:
        made.result()[0].abort()
