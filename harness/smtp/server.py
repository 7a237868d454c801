"""FakeSMTPServer: a sink SMTP server on a free loopback port, with a fault schedule.

It binds port 0 and reads the bound port back (no fixed ports, no self-probe connection,
unlike aiosmtpd's ``Controller``), never relays, and keeps every accepted message.
Used synchronously it runs on its own event-loop thread; ``async with`` runs it on the
caller's loop instead. ``tls`` is ``"none"``, ``"starttls"`` (as on port 587) or
``"implicit"`` (as on 465), presenting ``certificate`` from the catalogue (``harness.tls``),
which may differ per attempt.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from harness.clients import TLSMode
from harness.errors import ServerError
from harness.loop import LoopThread
from harness.smtp.faults.base import Fault
from harness.smtp.faults.schedule import FaultSchedule
from harness.smtp.protocol import FaultySMTP, SessionHost
from harness.smtp.tls_config import TLSConfig
from harness.timeline import Recorder, StoredMessage, Timeline


class FakeSMTPServer:
    """A fake SMTP server that replays faults per attempt and records a timeline.

    >>> with FakeSMTPServer([faults.Reply(at="banner", reply="421 4.7.0 Busy", attempts=1)]) as s:
    ...     send_mail(s.host, s.port)          # the client under test
    >>> s.timeline.attempts[0].reply_codes
    [421]
    """

    def __init__(
        self,
        faults: Iterable[Fault] | FaultSchedule = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
        hostname: str = "localhost",
        idle_timeout: float = 300.0,
        data_size_limit: int = 32 * 1024 * 1024,
        tls: TLSMode = "none",
        certificate: str | Mapping[Any, str] = "valid",
        starttls_required: bool = False,
        auth_credentials: Mapping[str, str] | None = None,
        auth_require_tls: bool = True,
        auth_required: bool = False,
        recorder: Recorder | None = None,
    ) -> None:
        self.schedule = (
            faults if isinstance(faults, FaultSchedule) else FaultSchedule(faults, seed=seed)
        )
        self.recorder = recorder or Recorder()
        self.tls = TLSConfig(tls, certificate, starttls_required)
        self._requested = (host, port)
        self._options: dict[str, Any] = {
            "idle_timeout": idle_timeout,
            "data_size_limit": data_size_limit,
            "auth_require_tls": auth_require_tls,
            "auth_required": auth_required,
        }
        self._sessions = SessionHost(
            self.schedule, self.recorder, hostname, self.tls, auth_credentials
        )
        self._server: asyncio.Server | None = None
        self._thread: LoopThread | None = None
        self._address: tuple[str, int] | None = None

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self._address else "not started"
        schedule = self.schedule
        return f"<FakeSMTPServer {where} faults={len(schedule.faults)} seed={schedule.seed}>"

    # -- where it listens ----------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._bound()[0]

    @property
    def port(self) -> int:
        return self._bound()[1]

    @property
    def seed(self) -> int:
        return self.schedule.seed

    def _bound(self) -> tuple[str, int]:
        if self._address is None:
            raise ServerError("the server is not running: call start() or use it in a with block")
        return self._address

    # -- what happened ---------------------------------------------------------------------

    @property
    def thread(self) -> LoopThread | None:
        """The loop thread ``start()`` runs it on (None when started on a caller's loop):
        a chaos proxy in front of it can run there too (``ChaosProxy.start(on=...)``)."""
        return self._thread

    @property
    def timeline(self) -> Timeline:
        return self.recorder.timeline()

    @property
    def messages(self) -> Sequence[StoredMessage]:
        return self.recorder.timeline().messages

    def reset(self) -> None:
        """Forget the timeline, the messages and the faults' state; keep listening.

        Sessions read the faults' state on the server's loop: a server on a loop thread
        of its own forgets it there, never from the calling thread.
        """
        thread = self._thread
        if thread is None or thread.is_current():
            self._forget()
        else:
            thread.call(self._on_loop(self._forget))

    def _forget(self) -> None:
        self.recorder.reset()
        self.schedule.reset()
        self._sessions.reset()

    def use(
        self, faults: Iterable[Fault] | FaultSchedule = (), *, seed: int | None = None
    ) -> FaultSchedule:
        """Swap in another fault schedule and start afresh, on the same port.

        Connections still open are closed first (recorded as ``server-stop``), then the
        timeline, the messages and every fault's state are forgotten, as :meth:`reset`
        does. One running server serves many schedules this way, far cheaper than starting
        another (a property test tries hundreds). Returns the schedule now in use.
        """
        schedule = faults if isinstance(faults, FaultSchedule) else FaultSchedule(faults, seed=seed)
        thread = self._thread
        if thread is None or thread.is_current():
            self._swap(schedule)
        else:  # on the loop that reads the schedule: the swap cannot land mid-session
            thread.call(self._use_async(schedule))
        return schedule

    async def _use_async(self, schedule: FaultSchedule) -> None:
        if self._server is not None and self._sessions.sessions:
            await self._drop_sessions()
        self._swap(schedule)

    def _swap(self, schedule: FaultSchedule) -> None:
        self.schedule = schedule
        self._sessions.schedule = schedule
        self._forget()

    @staticmethod
    async def _on_loop(change: Callable[[], None]) -> None:
        change()

    # -- lifecycle -------------------------------------------------------------------------

    async def _open(self) -> None:
        host, port = self._requested
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: FaultySMTP(self._sessions, loop=loop, **self._options),
                host=host,
                port=port,
                family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                reuse_address=True,
                backlog=1024,
            )
        except OSError as error:
            reason = error.strerror or error
            raise ServerError(f"cannot listen on {host}:{port}: {reason}") from None
        sockname = self._server.sockets[0].getsockname()
        self._address = (str(sockname[0]), int(sockname[1]))

    async def _drop_sessions(self) -> None:
        for session in list(self._sessions.sessions):
            session.disconnect("server-stop", now=True)
        for _ in range(100):  # connection_lost runs on the next loop turns
            if not self._sessions.sessions:
                break
            await asyncio.sleep(0)

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for session in list(self._sessions.sessions):
            session.disconnect("server-stop", now=True)
        await server.wait_closed()
        for _ in range(100):  # connection_lost runs on the next loop turns
            if not self._sessions.sessions:
                break
            await asyncio.sleep(0)
        self._address = None

    def start(self) -> FakeSMTPServer:
        """Start listening on a loop thread of its own. Does nothing if already started."""
        if self._server is not None:
            return self
        self._thread = LoopThread.running(f"smtp-fault-harness {self._requested[0]}",
                                          self._open())
        return self

    def stop(self) -> None:
        """Close every connection and stop listening. Does nothing if not started."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.finish(self._close())

    async def start_async(self) -> FakeSMTPServer:
        """Start listening on the running event loop."""
        if self._server is None:
            await self._open()
        return self

    async def stop_async(self) -> None:
        await self._close()

    def __enter__(self) -> FakeSMTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeSMTPServer:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_async()
