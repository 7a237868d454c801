"""The zero-copy fast path (``harness.chaos.splice``): taken by a link with no toxic, left
for the toxic pipeline the moment a toxic is added and taken again when the last one is
removed, with every byte through once and in order; EOF and resets end a spliced
connection as they end a copied one. Each has its twin on the copying path."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

import harness.chaos.link
from harness.chaos import ChaosProxy, Toxic
from harness.chaos.splice import FAST_PATH, fast_path_possible
from tests.chaos.conftest import SEED
from tests.chaos.test_lifecycle import other_tasks
from tests.chaos.upstream import EchoServer, connect, read_to_end, read_until

pytestmark = pytest.mark.skipif(not FAST_PATH, reason=(
    "no fast path here: os.splice is Linux only, and Python 3.10's transports read while"
    " paused (the copying path is what tests/chaos tests there)"))

PAYLOAD = random.Random(SEED).randbytes(2 * 1024 * 1024)
PIECE = 64 * 1024
# Toxics that never apply: both links run their pipeline (noop), the copying path.
NEVER = [Toxic(type="latency", stream=stream, attributes={"latency": 1}, toxicity=0.0)
         for stream in ("upstream", "downstream")]


@pytest.fixture
def source() -> Iterator[EchoServer]:
    """An upstream that sends PAYLOAD as soon as a client connects."""
    server = EchoServer(greeting=PAYLOAD)
    yield server
    server.stop()


@pytest.mark.parametrize("toxics", [[], NEVER], ids=["no-toxic", "control-pipeline"])
def test_a_link_with_no_toxic_is_spliced(source: EchoServer, toxics: list[Toxic]) -> None:
    with ChaosProxy(source.address, toxics, seed=SEED) as proxy, \
            connect(proxy.host, proxy.port) as sock:
        data, _ = read_until(sock, len(PAYLOAD))
        assert data == PAYLOAD
        assert proxy.spliced_bytes == (0 if toxics else len(PAYLOAD))


def test_control_without_splice_the_bytes_are_copied(
    source: EchoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.chaos.link, "fast_path_possible", lambda *_: False)
    with ChaosProxy(source.address, seed=SEED) as proxy, connect(proxy.host, proxy.port) as sock:
        data, _ = read_until(sock, len(PAYLOAD))
        assert data == PAYLOAD
        assert proxy.spliced_bytes == 0


def test_no_fast_path_for_a_tls_transport() -> None:
    """The proxy only makes plain TCP transports; one with a TLS layer is never spliced."""

    with socket.socket() as sock:
        def transport(tls: bool) -> asyncio.BaseTransport:
            extra = {"socket": sock, "sslcontext": object() if tls else None}
            return SimpleNamespace(  # type: ignore[return-value]
                get_extra_info=extra.get, is_closing=lambda: False)

        loop = asyncio.new_event_loop()
        try:
            assert fast_path_possible(loop, transport(False))
            assert not fast_path_possible(loop, transport(True))
        finally:
            loop.close()


@pytest.mark.parametrize("switch", [True, False], ids=["fast-toxic-fast", "control-fast"])
def test_switching_mid_stream_keeps_every_byte_in_order(echo: EchoServer, switch: bool) -> None:
    """A writer at most three pieces ahead of the reader, so bytes are in flight both
    ways at each switch and some are still to come after the toxics are removed."""
    pieces = [PAYLOAD[i:i + PIECE] for i in range(0, len(PAYLOAD), PIECE)]
    ahead = threading.Semaphore(3)
    with ChaosProxy(echo.address, seed=SEED) as proxy, connect(proxy.host, proxy.port) as sock:
        def write() -> None:
            for piece in pieces:
                ahead.acquire()
                sock.sendall(piece)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        received = bytearray()
        marks = []
        for index, piece in enumerate(pieces):
            data, _ = read_until(sock, len(piece))
            received += data
            ahead.release()
            if switch and index == len(pieces) // 4:
                proxy.add_toxic(Toxic(type="slicer", stream="upstream",
                                      attributes={"average_size": 1000}))
                proxy.add_toxic(Toxic(type="latency", attributes={"latency": 1}))
                marks.append(proxy.spliced_bytes)
            if switch and index == len(pieces) // 2:
                marks.append(proxy.spliced_bytes)
                proxy.remove_toxic("slicer_upstream")
                proxy.remove_toxic("latency_downstream")
        writer.join(10)
        assert bytes(received) == PAYLOAD
        if switch:
            added, removed = marks
            assert 0 < added == removed < proxy.spliced_bytes  # fast, copied, fast again
            active = [event.text for event in proxy.timeline.attempt(1).of_kind("toxic")]
            assert "slicer_upstream: active" in active
            assert "latency_downstream: active" in active
        else:
            assert proxy.spliced_bytes == 2 * len(PAYLOAD)


@pytest.mark.parametrize("toxics", [[], NEVER], ids=["no-toxic", "control-pipeline"])
def test_upstream_eof_ends_the_connection(greeter: EchoServer, toxics: list[Toxic]) -> None:
    with ChaosProxy(greeter.address, toxics, seed=SEED) as proxy, \
            connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"bye\n")  # the upstream closes (FIN) on it
        got = read_to_end(sock)
        assert (got.data, got.end) == (b"220 hello\r\n", "eof")
        proxy.wait_connections(0)
        assert other_tasks(proxy) == 0
        assert (proxy.spliced_bytes > 0) == (not toxics)


@pytest.mark.parametrize("toxics", [[], NEVER], ids=["no-toxic", "control-pipeline"])
def test_client_reset_closes_the_upstream(echo: EchoServer, toxics: list[Toxic]) -> None:
    with ChaosProxy(echo.address, toxics, seed=SEED) as proxy:
        sock = connect(proxy.host, proxy.port)
        sock.sendall(b"ping\n")
        assert read_until(sock, 5)[0] == b"ping\n"
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        echo.wait_finished(1)
        proxy.wait_connections(0)
        assert other_tasks(proxy) == 0
        assert echo.received[0] == b"ping\n"
        assert (proxy.spliced_bytes > 0) == (not toxics)


@pytest.mark.parametrize("toxics", [[], NEVER], ids=["no-toxic", "control-pipeline"])
def test_upstream_reset_closes_the_client(toxics: list[Toxic]) -> None:
    """As on the copying path, a reset from one side closes the other with a FIN."""
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            ChaosProxy(listener.getsockname(), toxics, seed=SEED) as proxy, \
            connect(proxy.host, proxy.port) as sock:
        listener.settimeout(10)
        upstream, _ = listener.accept()
        upstream.sendall(b"220 hello\r\n")
        assert read_until(sock, 11)[0] == b"220 hello\r\n"
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        upstream.close()
        assert read_to_end(sock).end == "eof"
        proxy.wait_connections(0)
        assert (proxy.spliced_bytes > 0) == (not toxics)


@pytest.mark.parametrize("add", [True, False], ids=["reset_peer", "control-none"])
def test_reset_peer_added_to_a_spliced_connection_resets_it(
    echo: EchoServer, add: bool
) -> None:
    with ChaosProxy(echo.address, seed=SEED) as proxy, connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"ping\n")
        assert read_until(sock, 5)[0] == b"ping\n"
        assert proxy.spliced_bytes == 10
        if add:
            proxy.add_toxic(Toxic(type="reset_peer", stream="upstream",
                                  attributes={"timeout": 0}))
        sock.sendall(b"pong\n")
        got = read_to_end(sock, timeout=0.5 if not add else 10)
        assert got.end == ("rst" if add else "open")
        assert got.data == (b"" if add else b"pong\n")


@pytest.mark.parametrize("toxics", [[], NEVER], ids=["no-toxic", "control-pipeline"])
def test_client_reset_mid_stream_closes_the_upstream(
    source: EchoServer, toxics: list[Toxic]
) -> None:
    """The client resets while the upstream streams at it: writing to it fails (or
    reading from it does) and the whole connection closes, as on the copying path."""
    with ChaosProxy(source.address, toxics, seed=SEED) as proxy:
        sock = connect(proxy.host, proxy.port)
        assert len(read_until(sock, PIECE)[0]) == PIECE
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        source.wait_finished(1)
        proxy.wait_connections(0)
        assert other_tasks(proxy) == 0
        assert (proxy.spliced_bytes > 0) == (not toxics)


def _pipes_open() -> int:
    return sum(os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
               for fd in os.listdir("/proc/self/fd")
               if os.path.exists(f"/proc/self/fd/{fd}"))


def test_stopping_the_proxy_closes_its_pipes(source: EchoServer) -> None:
    """A connection stopped with bytes in its pipe (its client reads nothing) and the
    proxy's idle pipes: none is left open once the proxy has stopped."""
    before = _pipes_open()
    proxy = ChaosProxy(source.address, seed=SEED).start()
    with connect(proxy.host, proxy.port) as idle, connect(proxy.host, proxy.port) as busy:
        assert read_until(busy, PIECE)[0] == PAYLOAD[:PIECE]
        proxy.wait_connections(2)
        assert proxy.spliced_bytes > 0
        assert _pipes_open() > before
        proxy.stop()
        assert read_to_end(idle).end in ("eof", "rst")
    assert _pipes_open() == before


@pytest.mark.parametrize("toxic", [True, False], ids=["toxic-added", "control-none"])
def test_what_the_pipe_holds_goes_before_the_toxic_pipeline(toxic: bool) -> None:
    """The client reads nothing until the proxy's pipe towards it holds bytes (its socket
    buffers are full); then a downstream toxic is added. Every byte arrives, in order:
    what the pipe held first, then the rest through the toxic."""
    payload = random.Random(SEED + 1).randbytes(8 * 1024 * 1024)  # beyond the kernel's buffers
    upstream = EchoServer(greeting=payload)
    try:
        with ChaosProxy(upstream.address, seed=SEED) as proxy, \
                connect(proxy.host, proxy.port) as sock:
            proxy.wait_connections(1)
            (connection,) = proxy._connections
            assert proxy._loop is not None

            async def held() -> int:
                """Loop turns until the downstream pipe holds bytes (bounded)."""
                deadline = asyncio.get_running_loop().time() + 10
                while asyncio.get_running_loop().time() < deadline:
                    link = connection.links.get("downstream")
                    if link is not None and link.splicer is not None and link.splicer.pending:
                        return link.splicer.pending
                    await asyncio.sleep(0)
                return 0

            assert asyncio.run_coroutine_threadsafe(held(), proxy._loop).result(15) > 0
            if toxic:
                proxy.add_toxic(Toxic(type="latency", attributes={"latency": 1}))
            data, _ = read_until(sock, len(payload), timeout=30)
            assert data == payload
            if toxic:
                assert proxy.spliced_bytes < len(payload)
            else:
                assert proxy.spliced_bytes == len(payload)
    finally:
        upstream.stop()


@pytest.mark.parametrize("remove", [True, False], ids=["toxic-removed", "control-kept"])
def test_removing_the_last_toxic_splices_only_after_what_was_in_flight(remove: bool) -> None:
    """The client reads nothing until the pipeline towards it holds chunks and its
    socket buffers are full; then the toxic is removed and the client sends a line the
    upstream echoes at once. What was in flight, and what the transport had buffered,
    goes before the spliced echo: every byte, in order."""
    payload = random.Random(SEED + 2).randbytes(8 * 1024 * 1024)
    upstream = EchoServer(greeting=payload)
    latency = Toxic(type="latency", attributes={"latency": 1})
    try:
        with ChaosProxy(upstream.address, [latency], seed=SEED) as proxy, \
                connect(proxy.host, proxy.port) as sock:
            proxy.wait_connections(1)
            (connection,) = proxy._connections
            assert proxy._loop is not None

            async def in_flight() -> bool:
                """Loop turns until the pipeline holds chunks and the transport is
                full (bounded)."""
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while loop.time() < deadline:
                    link = connection.links.get("downstream")
                    if (link is not None and link.piped and not connection.client.writable
                            and any(len(stage.stub.input) for stage in link.stages)):
                        return True
                    await asyncio.sleep(0)
                return False

            assert asyncio.run_coroutine_threadsafe(in_flight(), proxy._loop).result(15)
            if remove:
                proxy.remove_toxic("latency_downstream")
            sock.sendall(b"more")  # echoed at once: it must not overtake the payload
            data, _ = read_until(sock, len(payload) + 4, timeout=30)
            assert data == payload + b"more"
            assert proxy.spliced_bytes == (8 if remove else 4)  # "more" one way or both
    finally:
        upstream.stop()
