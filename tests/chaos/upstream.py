"""Test peers: an echo upstream and a blocking client that tells EOF from RST."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass


class EchoServer:
    """Echoes what it reads; sends ``greeting`` on connect; closes (FIN) on ``bye\\n``.

    Keeps what each connection received, so a test can see what crossed the proxy. Plain
    threads and blocking sockets, so it shares nothing with the event loops under test,
    and stopping it closes every socket it accepted.
    """

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.received: list[bytearray] = []
        self.finished = 0
        self.changed = threading.Condition()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        name = self._listener.getsockname()
        self.address: tuple[str, int] = (str(name[0]), int(name[1]))
        self._spawn(self._accept)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: stopping
            with self.changed:
                if self._stopping:
                    conn.close()
                    return
                self._conns.add(conn)
                got = bytearray()
                self.received.append(got)
            self._spawn(self._serve, conn, got)

    def _serve(self, conn: socket.socket, got: bytearray) -> None:
        try:
            if self.greeting:
                conn.sendall(self.greeting)
            while data := conn.recv(65536):
                got += data
                if got.endswith(b"bye\n"):
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            with self.changed:
                self._conns.discard(conn)
                conn.close()
                self.finished += 1
                self.changed.notify_all()

    def wait_finished(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` connections have ended here (what they sent is in)."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.finished >= count, timeout):
                raise TimeoutError(f"{self.finished} connections ended, not {count}")

    def stop(self) -> None:
        with self.changed:
            self._stopping = True
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)  # wakes its thread, which closes it
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        self._listener.close()
        for thread in self._threads:
            thread.join(10)


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
