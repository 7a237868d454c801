"""The zero-copy fast path of a link with no toxic: socket -> pipe -> socket, in the kernel.

With no toxic on a link nothing looks at its bytes, so they need never enter Python:
``os.splice`` (Linux) moves them from the source socket into a pipe and from the pipe to
the destination socket, driven by the event loop's readiness callbacks on the two raw
sockets while their transports' reading is paused. A pipe is held only while it has
bytes the destination could not take yet; empty, it goes back to the proxy's
:class:`Pipes`, so a connection that only exchanges commands and replies costs no pipe
of its own. Where ``os.splice`` or a selector event loop is missing (or on Python 3.10:
:data:`FAST_PATH`), or a socket is not plain TCP, links keep the copying path
(:mod:`harness.chaos.link`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import sys
from collections.abc import Callable
from typing import Any, Protocol, cast

_SPLICE: Callable[..., int] | None = getattr(os, "splice", None)
#: Whether links may splice at all. Not on Python 3.10, whose socket transports register
#: their reader after ``connection_made`` even when the protocol paused reading there
#: (3.11 checks first), so the transport and a splicer would both read one socket.
FAST_PATH = _SPLICE is not None and sys.version_info >= (3, 11)
_FLAGS = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)
_PIPE_SIZE = 256 * 1024  # asked of the kernel per pipe; a refusal keeps its default
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, named there only from Python 3.10 on Linux
_MOST = 1 << 30  # one splice moves what the pipe or the socket holds, up to this
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


class _FdLoop(Protocol):
    """The selector loop's readiness callbacks on a raw descriptor. Its public
    ``add_reader`` refuses a socket a transport owns; these are what the transport
    itself uses, and the fast path only runs while that transport's reading is paused."""

    def _add_reader(self, fd: int, callback: Callable[[], None]) -> Any: ...

    def _remove_reader(self, fd: int) -> bool: ...

    def _add_writer(self, fd: int, callback: Callable[[], None]) -> Any: ...

    def _remove_writer(self, fd: int) -> bool: ...


class Pipes:
    """One proxy's idle pipes (every link of a proxy runs on one loop, so no lock), and
    the bytes that went through the fast path: tests and benchmarks read ``spliced``."""

    def __init__(self, keep: int = 16) -> None:
        self.keep = keep
        self.idle: list[tuple[int, int]] = []
        self.spliced = 0

    def take(self) -> tuple[int, int]:
        if self.idle:
            return self.idle.pop()
        read, write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        with contextlib.suppress(OSError):  # e.g. the user's pipe-buffer quota is used up
            import fcntl
            fcntl.fcntl(write, _F_SETPIPE_SZ, _PIPE_SIZE)
        return read, write

    def give(self, pipe: tuple[int, int]) -> None:
        """Take back an empty pipe."""
        if len(self.idle) < self.keep:
            self.idle.append(pipe)
        else:
            _close(pipe)

    def close(self) -> None:
        for pipe in self.idle:
            _close(pipe)
        self.idle.clear()


def fast_path_possible(loop: asyncio.AbstractEventLoop, transport: asyncio.BaseTransport
                       ) -> bool:
    """Can this transport's bytes be spliced: ``os.splice``, a selector loop, and a
    plain TCP socket (no TLS layer; the proxy only ever makes TCP ones, but check)."""
    if not FAST_PATH or not isinstance(loop, asyncio.selector_events.BaseSelectorEventLoop):
        return False
    sock = transport.get_extra_info("socket")
    return (sock is not None and transport.get_extra_info("sslcontext") is None
            and sock.type == socket.SOCK_STREAM and not transport.is_closing())


class Splicer:
    """Moves one direction's bytes from ``source`` to ``destination`` until stopped.

    It reads only when its pipe is empty, and while the destination cannot take what it
    holds it waits on the destination instead, so the pipe is the only buffer. It reports
    through three callbacks, each after it has stopped itself: the source ended (EOF or
    an error reading), the destination failed (writing raised), or splicing is not
    supported for these sockets (before a byte moved).
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, source: int, destination: int, pipes: Pipes,
        *, on_read: Callable[[int], None], on_written: Callable[[int], None],
        on_source_end: Callable[[], None], on_destination_error: Callable[[], None],
        on_unsupported: Callable[[], None],
    ) -> None:
        assert _SPLICE is not None
        self._splice = _SPLICE
        self._loop = cast(_FdLoop, loop)
        self.source = source
        self.destination = destination
        self.pipes = pipes
        self.pipe: tuple[int, int] | None = None
        self.pending = 0  # bytes in the pipe, not yet written on
        self.running = False
        self._waiting = False  # on the destination (the pipe holds bytes)
        self._moved = False
        self._on_read = on_read
        self._on_written = on_written
        self._on_source_end = on_source_end
        self._on_destination_error = on_destination_error
        self._on_unsupported = on_unsupported

    def start(self) -> None:
        self.running = True
        self._loop._add_reader(self.source, self._readable)

    def stop(self) -> bytes:
        """Stop watching both sockets; what the pipe still held, to be written on."""
        if not self.running:
            return b""
        self.running = False
        if self._waiting:
            self._loop._remove_writer(self.destination)
        else:
            self._loop._remove_reader(self.source)
        held = bytearray()
        if self.pipe is not None:
            while self.pending > 0:
                try:
                    data = os.read(self.pipe[0], self.pending)
                except OSError:
                    break
                if not data:
                    break
                held += data
                self.pending -= len(data)
            if self.pending:
                _close(self.pipe)
            else:
                self.pipes.give(self.pipe)
            self.pipe = None
        self.pending = 0
        return bytes(held)

    def _readable(self) -> None:
        if self.pipe is None:
            self.pipe = self.pipes.take()
        try:
            moved = self._splice(self.source, self.pipe[1], _MOST, flags=_FLAGS)
        except (BlockingIOError, InterruptedError):
            self._release()
            return
        except OSError as error:
            self._ended(error)
            return
        if not moved:
            self._ended(None)
            return
        self._moved = True
        self.pending = moved
        self.pipes.spliced += moved
        self._on_read(moved)
        if self._write() and self.pending:
            self._loop._remove_reader(self.source)
            self._loop._add_writer(self.destination, self._writable)
            self._waiting = True

    def _writable(self) -> None:
        if self._write() and not self.pending:
            self._loop._remove_writer(self.destination)
            self._loop._add_reader(self.source, self._readable)
            self._waiting = False

    def _write(self) -> bool:
        """Write what the pipe holds, as far as the destination takes it; False if the
        destination failed (then this splicer has stopped)."""
        assert self.pipe is not None
        try:
            moved = self._splice(self.pipe[0], self.destination, self.pending, flags=_FLAGS)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            self.stop()
            self._on_destination_error()
            return False
        self.pending -= moved
        self._on_written(moved)
        self._release()
        return True

    def _release(self) -> None:
        if self.pipe is not None and not self.pending:
            self.pipes.give(self.pipe)
            self.pipe = None

    def _ended(self, error: OSError | None) -> None:
        self.stop()
        if error is not None and error.errno in _UNSUPPORTED and not self._moved:
            self._on_unsupported()
        else:
            self._on_source_end()


def _close(pipe: tuple[int, int]) -> None:
    for fd in pipe:
        with contextlib.suppress(OSError):
            os.close(fd)
