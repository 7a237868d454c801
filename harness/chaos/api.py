"""Toxiproxy's HTTP API, served on loopback by the embedded proxies.

A small HTTP/1.1 server on asyncio streams, in the proxies' own event loop, with the
routes, JSON shapes and status codes of Toxiproxy 2.12, so toxiproxy-python or any other
Toxiproxy client can drive :class:`~harness.chaos.proxy.ChaosProxy`. Requests are parsed
by h11 (a strict, sans-I/O HTTP/1.1 parser: request line, header grammar, Content-Length
and chunked framing), never by hand; one request per connection (``Connection: close``).
Bodies over 1 MiB get 413 without being read; JSON nested over 64 levels gets 400.
Changes to the collection are made one at a time, so a name is created once (``201``)
and every other creation of it gets ``409``, and no listener exists without its proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import h11

from harness.chaos.errors import AlreadyExists, ChaosError, InvalidToxic, NotFound
from harness.chaos.proxy import ChaosProxy, join_address, split_address
from harness.chaos.toxic import Toxic
from harness.loop import LoopThread
from harness.timeline import Recorder

VERSION = "2.12.0"  # the Toxiproxy release whose API this one follows
MAX_BODY = 1024 * 1024
MAX_HEAD = 16 * 1024  # request line and headers
MAX_JSON_DEPTH = 64
_READ_TIMEOUT = 15.0  # Toxiproxy's read timeout, for the whole request
_CHUNK = 65536
_LINGER_S = 2.0  # after a refusal, how long the rest of a request is read and dropped...
_LINGER_BYTES = 64 * MAX_BODY  # ... and how much of it


class Response:
    """Status, body and content type of one reply."""

    def __init__(self, status: int, body: bytes = b"",
                 content_type: str = "application/json") -> None:
        self.status = status
        self.body = body
        self.content_type = content_type

    @classmethod
    def json(cls, status: int, value: object, content_type: str = "application/json") -> Response:
        return cls(status, json.dumps(value).encode() + b"\n", content_type)

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        # Toxiproxy sends these through Go's http.Error: JSON, labelled text/plain.
        return cls.json(status, {"error": message, "status": status},
                        "text/plain; charset=utf-8")


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            413: "Payload Too Large", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 501: "Not Implemented"}
_READS = frozenset({"GET", "HEAD"})

Handler = Callable[..., Awaitable[Response]]


class ToxiproxyAPI:
    """A collection of named :class:`ChaosProxy` and the HTTP API that drives them.

    ``start()`` runs everything on a loop thread of its own; ``start_async()`` on the
    running loop. Proxies created through the API each get a recorder of their own and
    a seed derived from ``seed``.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        self.proxies: dict[str, ChaosProxy] = {}
        self.seed: int = secrets.randbits(64) if seed is None else seed
        self._requested = (host, port)
        self._server: asyncio.Server | None = None
        self._thread: LoopThread | None = None
        self._address: tuple[str, int] | None = None
        self._ids = itertools.count(1)
        self._changing: asyncio.Lock | None = None  # made on the loop, at first use
        self._starting: set[str] = set()  # names whose proxy is being started
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"/version"), {"GET": self._version}),
            (re.compile(r"/reset"), {"POST": self._reset}),
            (re.compile(r"/populate"), {"POST": self._populate}),
            (re.compile(r"/proxies"), {"GET": self._list, "POST": self._create}),
            (re.compile(r"/proxies/(?P<proxy>[^/]+)"), {
                "GET": self._get, "POST": self._update, "PATCH": self._update,
                "DELETE": self._delete}),
            (re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics"), {
                "GET": self._toxics, "POST": self._add_toxic}),
            (re.compile(r"/proxies/(?P<proxy>[^/]+)/toxics/(?P<toxic>[^/]+)"), {
                "GET": self._get_toxic, "POST": self._update_toxic,
                "PATCH": self._update_toxic, "DELETE": self._remove_toxic}),
        ]

    @property
    def url(self) -> str:
        if self._address is None:
            raise ChaosError("the API is not running: call start() first")
        return f"http://{join_address(*self._address)}"

    @property
    def host(self) -> str:
        return self._address[0] if self._address else self._requested[0]

    @property
    def port(self) -> int:
        return self._address[1] if self._address else self._requested[1]

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> ToxiproxyAPI:
        if self._thread is None:
            self._thread = LoopThread.running("toxiproxy-api", self.start_async())
        return self

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.finish(self.stop_async())

    def call(self, coro: Awaitable[Any]) -> Any:
        """Run a coroutine on the API's loop thread (to create proxies from a test)."""
        if self._thread is None:
            raise ChaosError("the API runs on your loop: await the coroutine instead")

        async def run() -> Any:
            return await coro

        return self._thread.call(run())

    async def start_async(self) -> ToxiproxyAPI:
        if self._server is None:
            host, port = self._requested
            try:
                self._server = await asyncio.start_server(self._connection, host, port,
                                                          reuse_address=True)
            except OSError as error:
                raise ChaosError(f"listen tcp {join_address(host, port)}: "
                                 f"{error.strerror or error}") from None
            name = self._server.sockets[0].getsockname()
            self._address = (str(name[0]), int(name[1]))
        return self

    async def stop_async(self) -> None:
        server, self._server = self._server, None
        for proxy in list(self.proxies.values()):
            await proxy.stop_async()
        if server is not None:
            server.close()
            await server.wait_closed()

    def __enter__(self) -> ToxiproxyAPI:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- the collection -------------------------------------------------------------------

    async def add_proxy(self, proxy: ChaosProxy) -> ChaosProxy:
        """Serve a proxy through the API: it is started on this loop, and stopped when
        the API stops. The name is taken before the proxy starts, so of two additions of
        one name racing, one wins and the other gets AlreadyExists."""
        if proxy.name in self.proxies or proxy.name in self._starting:
            raise AlreadyExists("proxy already exists")
        if proxy.running:
            raise ChaosError("add the proxy to the API before starting it:"
                             " the API runs its proxies on its own loop")
        self._starting.add(proxy.name)
        try:
            await proxy.start_async()
        finally:
            self._starting.discard(proxy.name)
        self.proxies[proxy.name] = proxy
        return proxy

    def add(self, proxy: ChaosProxy) -> ChaosProxy:
        """:meth:`add_proxy` from outside the API's loop (after ``start()``)."""
        return self.call(self.add_proxy(proxy))  # type: ignore[no-any-return]

    async def remove_proxy(self, name: str) -> None:
        """Stop a proxy and forget it. It leaves the collection before it stops, so a
        second removal racing this one gets NotFound, never a half-removed proxy."""
        proxy = self.proxies.pop(name, None)
        if proxy is None:
            raise NotFound("proxy not found")
        await proxy.stop_async()

    async def create_proxy(self, name: str, listen: str, upstream: str,
                           enabled: bool = True) -> ChaosProxy:
        proxy = ChaosProxy(upstream, name=name, listen=listen or "127.0.0.1:0",
                           enabled=enabled, recorder=Recorder(),
                           seed=derive_seed(self.seed, name))
        return await self.add_proxy(proxy)

    def proxy(self, name: str) -> ChaosProxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise NotFound("proxy not found") from None

    # -- HTTP -----------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response, whole = await asyncio.wait_for(self._read_and_handle(reader),
                                                     _READ_TIMEOUT)
            if response is not None:
                writer.write(self._encode(response))
                await writer.drain()
                if not whole:
                    await asyncio.wait_for(_linger(reader, writer), _LINGER_S)
        except (OSError, asyncio.TimeoutError):
            pass  # the client went away or never finished its request: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _read_and_handle(self, reader: asyncio.StreamReader
                               ) -> tuple[Response | None, bool]:
        """Read one request through h11 and answer it. Also says whether the request
        was read whole (a refusal may answer before the body is read)."""
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        request: h11.Request | None = None
        body = bytearray()
        try:
            while True:
                event = parser.next_event()
                if event is h11.NEED_DATA:
                    parser.receive_data(await reader.read(_CHUNK))
                elif isinstance(event, h11.Request):
                    request = event
                    early = _refuse_early(event)
                    if early is not None:
                        return early, False
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > MAX_BODY:
                        return _too_large(), False
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    return None, True  # hung up before a request began
        except h11.RemoteProtocolError as error:
            return Response.error(error.error_status_hint, f"bad request: {error}"), False
        assert request is not None
        method = request.method.decode("ascii", "replace").upper()
        target = request.target.decode("latin-1")
        return await self.handle(method, target.split("?", 1)[0], bytes(body)), True

    async def handle(self, method: str, path: str, body: bytes) -> Response:
        """Answer one request; every error becomes Toxiproxy's error reply. Changes
        (anything but GET) are made one at a time."""
        if method in _READS:
            return await self._route(method, path, body)
        if self._changing is None:
            self._changing = asyncio.Lock()
        async with self._changing:
            return await self._route(method, path, body)

    async def _route(self, method: str, path: str, body: bytes) -> Response:
        for pattern, handlers in self._routes:
            match = pattern.fullmatch(path.rstrip("/") or "/")
            if match is None:
                continue
            handler = handlers.get(method)
            if handler is None:
                return Response(405, b"", "text/plain; charset=utf-8")
            try:
                return await handler(body, **match.groupdict())
            except ChaosError as error:
                return Response.error(error.status, str(error))
        return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _encode(self, response: Response) -> bytes:
        head = [
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            f"X-Toxiproxy-Request-Id: {next(self._ids)}",
            "Connection: close",
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + response.body

    # -- routes ---------------------------------------------------------------------------

    async def _version(self, body: bytes) -> Response:
        return Response.json(200, {"version": VERSION}, "application/json;charset=utf-8")

    async def _list(self, body: bytes) -> Response:
        return Response.json(200, {name: p.to_json() for name, p in self.proxies.items()})

    async def _create(self, body: bytes) -> Response:
        fields = _proxy_fields(_decode(body, dict))
        proxy = await self.create_proxy(**fields)
        return Response.json(201, proxy.to_json())

    async def _populate(self, body: bytes) -> Response:
        entries = _decode(body, list)
        wanted = []
        for index, entry in enumerate(entries, start=1):
            try:
                wanted.append(_proxy_fields(entry))
            except InvalidToxic as error:
                return Response.json(400, {"error": f"{error} at proxy {index}", "status": 400,
                                           "proxies": None})
        done: list[dict[str, Any]] = []
        for fields in wanted:
            try:
                done.append((await self._populate_one(fields)).to_json())
            except ChaosError as error:
                return Response.json(error.status, {"error": str(error),
                                                    "status": error.status, "proxies": done})
        return Response.json(201, {"proxies": done or None})

    async def _populate_one(self, fields: dict[str, Any]) -> ChaosProxy:
        existing = self.proxies.get(fields["name"])
        if existing is not None:
            same_listen = _same_listen(existing.listen, fields["listen"])
            if same_listen and existing.upstream == _normal(fields["upstream"]):
                return existing
            await self.remove_proxy(existing.name)
        return await self.create_proxy(**fields)

    async def _get(self, body: bytes, proxy: str) -> Response:
        return Response.json(200, self.proxy(proxy).to_json())

    async def _update(self, body: bytes, proxy: str) -> Response:
        target = self.proxy(proxy)
        fields = _decode(body, dict)
        listen, upstream = fields.get("listen"), fields.get("upstream")
        for key, value in (("listen", listen), ("upstream", upstream)):
            if value is not None and not isinstance(value, str):
                raise InvalidToxic(f"bad request body: {key} must be a string")
        enabled = fields.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise InvalidToxic("bad request body: enabled must be true or false")
        await target.configure_async(listen=listen or None, upstream=upstream or None)
        if enabled is True:
            await target.enable_async()
        elif enabled is False:
            await target.disable_async()
        return Response.json(200, target.to_json())

    async def _delete(self, body: bytes, proxy: str) -> Response:
        await self.remove_proxy(proxy)
        return Response(204)

    async def _reset(self, body: bytes) -> Response:
        for proxy in list(self.proxies.values()):
            await proxy.reset_async()
        return Response(204)

    async def _toxics(self, body: bytes, proxy: str) -> Response:
        return Response.json(200, [t.to_json() for t in self.proxy(proxy).toxics])

    async def _add_toxic(self, body: bytes, proxy: str) -> Response:
        target = self.proxy(proxy)
        toxic = await target.add_toxic_async(Toxic.from_json(_decode(body, dict)))
        return Response.json(200, toxic.to_json())

    async def _get_toxic(self, body: bytes, proxy: str, toxic: str) -> Response:
        return Response.json(200, self.proxy(proxy).toxic(toxic).to_json())

    async def _update_toxic(self, body: bytes, proxy: str, toxic: str) -> Response:
        target = self.proxy(proxy)
        target.toxic(toxic)
        fields = _decode(body, dict)
        attributes = fields.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise InvalidToxic("bad request body: attributes must be a JSON object")
        updated = await target.update_toxic_async(toxic, attributes, fields.get("toxicity"))
        return Response.json(200, updated.to_json())

    async def _remove_toxic(self, body: bytes, proxy: str, toxic: str) -> Response:
        await self.proxy(proxy).remove_toxic_async(toxic)
        return Response(204)


def derive_seed(seed: int, name: str) -> int:
    """A proxy's seed from the API's: stable across processes, unlike ``hash``."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


def _refuse_early(request: h11.Request) -> Response | None:
    """What a request's head alone decides: a body declared too large (413, unread),
    a browser (403, as Toxiproxy: a web page must not drive the proxies)."""
    headers = {name.lower(): value for name, value in request.headers}
    length = headers.get(b"content-length")
    if length is not None and int(length) > MAX_BODY:
        return _too_large()
    if headers.get(b"user-agent", b"").startswith(b"Mozilla/"):
        return Response(403, b"User agent not allowed\n", "text/plain; charset=utf-8")
    return None


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """After answering a request whose body was not read: stop sending, and discard what
    the client still sends (bounded), so the close does not reset the connection
    before the client has read the answer."""
    with contextlib.suppress(OSError, RuntimeError):
        writer.write_eof()
    discarded = 0
    with contextlib.suppress(OSError):
        while discarded < _LINGER_BYTES and (data := await reader.read(_CHUNK)):
            discarded += len(data)


def _too_large() -> Response:
    return Response.error(413, f"request body too large: at most {MAX_BODY} bytes")


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, in linear time, strings skipped."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot nest deeper than the brackets there are
    deepest = depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _decode(body: bytes, shape: type[Any]) -> Any:
    if _depth(body) > MAX_JSON_DEPTH:
        raise InvalidToxic(f"bad request body: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidToxic(f"bad request body: {error}") from None
    if not isinstance(value, shape):
        wanted = "an object" if shape is dict else "an array"
        raise InvalidToxic(f"bad request body: expected {wanted}")
    return value


def _proxy_fields(entry: object) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise InvalidToxic("bad request body: a proxy must be a JSON object")
    for key in ("name", "upstream"):
        if not entry.get(key):
            raise InvalidToxic(f"missing required field: {key}")
    for key in ("name", "upstream", "listen"):
        if not isinstance(entry.get(key, ""), str):
            raise InvalidToxic(f"bad request body: {key} must be a string")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidToxic("bad request body: enabled must be true or false")
    listen = _normal(entry.get("listen") or "127.0.0.1:0")
    return {"name": entry["name"], "listen": listen,
            "upstream": _normal(entry["upstream"]), "enabled": enabled}


def _normal(address: str) -> str:
    return join_address(*split_address(address, what="address"))


def _same_listen(current: str, given: str) -> bool:
    host, port = split_address(given, what="listen")
    return current == given or (port == 0 and split_address(current, what="listen")[0] == host)
