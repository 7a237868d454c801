"""Test peers: an echo upstream and a blocking client that tells EOF from RST."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from dataclasses import dataclass

from harness.loop import LoopThread


class EchoServer:
    """Echoes what it reads; sends ``greeting`` on connect; closes (FIN) on ``bye\\n``.

    Keeps what each connection received, so a test can see what crossed the proxy.
    """

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.received: list[bytearray] = []
        self._thread = LoopThread("echo-upstream")
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._finished = 0
        self._changed = threading.Condition()
        self.address = self._thread.call(self._open())

    async def _open(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        name = self._server.sockets[0].getsockname()
        return str(name[0]), int(name[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = bytearray()
        self.received.append(got)
        self._writers.add(writer)
        try:
            if self.greeting:
                writer.write(self.greeting)
            while data := await reader.read(65536):
                got += data
                if got.endswith(b"bye\n"):
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            with self._changed:
                self._finished += 1
                self._changed.notify_all()

    def wait_finished(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` connections have ended here (what they sent is in)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._finished >= count, timeout):
                raise TimeoutError(f"{self._finished} connections ended, not {count}")

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    def stop(self) -> None:
        self._thread.call(self._close())
        self._thread.stop()


@dataclass
class Received:
    data: bytes
    end: str  # "eof", "rst" or "open" (nothing more within the timeout)
    at: float  # seconds from the start of the read until the end (or the timeout)


def connect(host: str, port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until(sock: socket.socket, size: int, timeout: float = 10.0) -> tuple[bytes, float]:
    """Read ``size`` bytes (or until the stream ends); returns them and the time taken."""
    start = time.monotonic()
    sock.settimeout(timeout)
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data), time.monotonic() - start


def read_to_end(sock: socket.socket, timeout: float = 10.0) -> Received:
    """Read until EOF, RST or ``timeout``: which one it was, and when."""
    start = time.monotonic()
    sock.settimeout(timeout)
    data = bytearray()
    reads = 0
    try:
        while chunk := sock.recv(65536):
            data += chunk
            reads += 1
        end = "eof"
    except ConnectionResetError:
        end = "rst"
    except TimeoutError:
        end = "open"
    return Received(bytes(data), end, time.monotonic() - start)


def count_reads(sock: socket.socket, size: int, timeout: float = 10.0) -> int:
    """How many ``recv`` calls it took to get ``size`` bytes."""
    sock.settimeout(timeout)
    got, reads = 0, 0
    while got < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += len(chunk)
        reads += 1
    return reads
