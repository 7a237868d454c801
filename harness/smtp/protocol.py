"""The SMTP session with faults: the one place that subclasses aiosmtpd.

aiosmtpd parses commands and builds replies; this module decides, at each phase, whether
a fault takes over, records what crosses the wire, and carries out closes and resets.
The overrides are few and each is exercised by the end-to-end tests, because these are
the places an aiosmtpd upgrade could break:

- ``push``: every reply passes here (recorded; the first one is the banner phase;
  a 421 closes the connection as RFC 5321 §3.8 says, which aiosmtpd does not do).
- ``data_received``: records command lines as they arrive and counts message content,
  so a ``body`` fault fires at an exact byte offset.
- ``smtp_<COMMAND>``: consult the faults of the command's phase before aiosmtpd runs it.
- ``_getaddr``: aiosmtpd's parse of a MAIL or RCPT address, remembered per argument.
- ``connection_made`` / ``connection_lost`` / ``eof_received`` / ``_timeout_cb``: the
  attempt's start, and who ended it and how.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import socket
import ssl
import struct
import time
from asyncio import sslproto
from collections.abc import Awaitable, Callable, Mapping
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from functools import lru_cache
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from harness.attempts import Phase
from harness.loop import sleep_precisely
from harness.replies import SMTPReply
from harness.smtp.faults.base import (
    CONTINUES,
    Action,
    Disconnect,
    EditCapabilities,
    Fault,
    FaultContext,
    Garbage,
    Inject,
    Pause,
    Plaintext,
    Send,
    Stall,
    StoreAndDisconnect,
)
from harness.smtp.faults.schedule import FaultSchedule
from harness.smtp.tls_config import ContextCache, TLSConfig, handshake_failure
from harness.timeline import CloseReason, Recorder

_ADDRESS = re.compile(r"<([^>]*)>")
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)
_MAX_RECORDED_LINE = 1000
_BODY_END = b"\r\n.\r\n"
LINGER_S = 0.5
"""After a closing reply, how long what the client still sends is recorded."""


def _not_login_data_notice(record: logging.LogRecord) -> bool:
    """aiosmtpd warns, on every successful AUTH, that an attribute it sets itself is
    deprecated: a line on the user's stderr for every login, about nothing they did."""
    return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_not_login_data_notice)


class SessionHost:
    """What the sessions of one server share: schedule, recorder, open sessions, messages."""

    def __init__(
        self,
        schedule: FaultSchedule,
        recorder: Recorder,
        hostname: str,
        tls: TLSConfig | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        self.schedule = schedule
        self.recorder = recorder
        self.hostname = hostname
        self.tls = tls or TLSConfig()
        self.contexts = ContextCache()
        self.credentials = credentials
        self.sessions: set[FaultySMTP] = set()
        self._accepted: list[float] = []

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """A sink accepts any login unless credentials were given."""
        if self.credentials is None:
            return AuthResult(success=True)
        ok = isinstance(data, LoginPassword) and self.credentials.get(
            data.login.decode("utf-8", "replace")
        ) == data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False)

    def open_before(self, attempt: int) -> int:
        """Sessions accepted before ``attempt`` and still held: one closing after its
        final reply (a 421 it was turned away with) holds no place. Two connections
        accepted at one instant are both open before either is greeted; counting only the
        earlier ones turns away the later, never both."""
        return sum(1 for s in self.sessions if 0 < s.attempt < attempt and not s.ending)

    def accepted_message_times(self) -> list[float]:
        return self._accepted

    def note_accepted(self, now: float) -> None:
        self._accepted.append(now)

    def reset(self) -> None:
        self._accepted.clear()


@lru_cache(maxsize=256)
def _parse_address(arg: str) -> tuple[str, str] | None:
    """The address and the rest of a MAIL or RCPT argument, as aiosmtpd parses them
    (None: not an address). A client names the same few addresses again and again, and
    the email package's parser was a quarter of the server's time per message."""
    try:
        parse = get_angle_addr if arg.lstrip().startswith("<") else get_addr_spec
        address, rest = parse(arg)
    except HeaderParseError:
        return None
    return address.addr_spec, rest


_HOOKS = ("smtp_", "auth_", "handle_")


_HOOK_NAMES: dict[type, list[str]] = {}


def _hook_names(cls: type) -> list[str]:
    """The members of ``cls`` that aiosmtpd looks for by name, listed once per class."""
    names = _HOOK_NAMES.get(cls)
    if names is None:
        names = _HOOK_NAMES[cls] = [name for name in dir(cls) if name.startswith(_HOOKS)]
    return names


class _Handler:
    """aiosmtpd's hook object: stores messages and edits capabilities, through the
    session's fault checks."""

    def __dir__(self) -> list[str]:
        return _hook_names(type(self))  # see FaultySMTP.__dir__

    async def handle_DATA(self, server: FaultySMTP, session: Session, envelope: Envelope) -> str:
        return await server.end_of_data(envelope)

    async def handle_EHLO(
        self, server: FaultySMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to a handler with this hook
        return server.capabilities(responses)

    # aiosmtpd reads this hook's signature on every new connection; computed once here
    handle_EHLO.__signature__ = inspect.signature(handle_EHLO)  # type: ignore[attr-defined]


def edit_capabilities(responses: list[str], edits: list[EditCapabilities]) -> list[str]:
    """Apply capability edits to an EHLO reply (``250-host``, ``250-SIZE 1``, ``250 HELP``)."""
    greeting, *capabilities = (line[4:] for line in responses)
    for edit in edits:
        removed = {word.upper() for word in edit.remove}
        capabilities = [c for c in capabilities if c.split(" ")[0].upper() not in removed]
        capabilities += edit.add
    lines = [greeting, *capabilities]
    return [f"250{'-' if i < len(lines) - 1 else ' '}{text}" for i, text in enumerate(lines)]


class FaultySMTP(SMTP):
    """One connection of the fake server."""

    def __init__(self, host: SessionHost, *, idle_timeout: float, **options: Any) -> None:
        tls = host.tls
        super().__init__(
            _Handler(),
            hostname=host.hostname,
            ident="ESMTP smtp-fault-harness",
            timeout=idle_timeout,
            # aiosmtpd advertises STARTTLS when it has a context; the upgrade is ours
            tls_context=host.contexts.get(tls.certificate_for(1)) if tls.mode == "starttls"
            else None,
            require_starttls=tls.starttls_required,
            authenticator=host.authenticate,
            **options,
        )
        self._host = host
        self.attempt = 0
        self._greeted = False
        self._refusing = False
        self._fault_reply_code = 0  # the code of the last reply a fault sent
        self._quit_seen = False
        self._close_reason: CloseReason | None = None
        self._close_after_reply = False
        self._reply_lines: list[str] = []
        self._line = bytearray()
        self._in_body = False
        self._body_tail = b""
        self._body_bytes = 0
        self._body_faults: list[tuple[Fault, Action]] = []
        self._discarding = False
        self._closed: asyncio.Future[None] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._tls_active = False
        self._in_limbo = False  # between STARTTLS and a handshake that will not happen
        self._plaintext = False  # a fault made the server skip TLS and carry on in clear
        self._first_bytes_due = False  # ...and what the client sends first is still to come
        self._capability_edits: list[EditCapabilities] = []
        self._starttls_hidden = False  # a fault took STARTTLS out of the EHLO reply
        self._inject: tuple[str, ...] = ()

    def __dir__(self) -> list[str]:
        """Only the ``smtp_*`` and ``auth_*`` methods. aiosmtpd builds its command and
        AUTH tables from ``dir()`` on every new connection, fetching every member it lists:
        naming only those it looks for makes setting one up 3.5 times cheaper."""
        return _hook_names(type(self))

    # -- the attempt's life -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.attempt == 0:
            peer = transport.get_extra_info("peername")
            self.attempt = self._host.recorder.join_attempt(
                (str(peer[0]), int(peer[1])) if peer else None
            )
            self._host.sessions.add(self)
            self._closed = asyncio.get_running_loop().create_future()
            if self._host.tls.mode == "implicit":
                transport.pause_reading()  # type: ignore[attr-defined]  # until the handshake
        else:  # the handshake completed; app data follows at once, so record it now
            self._tls_active = True
            self._record_handshake(transport)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._in_body:
            self._record_body_end(complete=False)
        reason = self._close_reason
        if reason is None:
            if self._quit_seen:
                reason = "client-quit"
            elif isinstance(error, ConnectionResetError):
                reason = "client-reset"
            else:
                reason = "client-close"
        self._host.recorder.close_attempt(self.attempt, reason)
        self._host.sessions.discard(self)
        if self._linger is not None:
            self._linger.cancel()
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        super().connection_lost(error)
        if self._handler_coroutine is not None:
            self._handler_coroutine.add_done_callback(self._release)

    def _release(self, handler: asyncio.Task[None]) -> None:
        """Break the session's reference cycles once its handler has ended, so that
        closing frees it. Left to the collector, the sessions of a few hundred connections
        were freed in one full collection that stopped every thread for 30 to 60 ms, and
        a delay fault due in that time reached its client that late."""
        self._smtp_methods = {}
        self._auth_methods = {}
        self._handle_hooks = {}
        self._handler_coroutine = None
        self._timeout_handle = None
        self._client_connected_cb = None
        self._reader = self._writer = None  # type: ignore[assignment]

    def eof_received(self) -> bool | None:
        # aiosmtpd stops serving on EOF but leaves the socket half-open; a real server
        # closes its side too, so the client's close is seen at once.
        super().eof_received()
        if self.transport is not None:
            self.transport.close()
        return False

    def _timeout_cb(self) -> None:
        self._close_reason = self._close_reason or "idle-timeout"
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    @property
    def ending(self) -> bool:
        """True once the session is closing: after a final reply (its 421 sent or due),
        in the linger of its half-close, or with its transport closing. A session that
        stopped reading (a stall mid-body) still holds its connection."""
        transport = self.transport
        return (self._close_after_reply or self._linger is not None
                or (transport is not None and transport.is_closing()))

    def disconnect(self, reason: CloseReason, *, reset: bool = False, now: bool = False) -> None:
        """End the connection: FIN after what was written, RST with ``reset``, or drop
        unsent output with ``now`` (the server is stopping)."""
        transport = self._original_transport or self.transport
        if transport is None:
            return
        if transport.is_closing():  # already ending (QUIT, EOF): keep how it ended
            if now:
                transport.abort()  # type: ignore[attr-defined]
            return
        self._close_reason = self._close_reason or reason
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if reset or now:
            transport.abort()  # type: ignore[attr-defined]
        else:
            transport.close()

    def _hang_up(self) -> None:
        """Close after a closing reply (a 421, or ``then_close``). Half-close first: the
        client reads EOF at once, but what it still sends for ``LINGER_S`` is recorded
        (and never answered), so a client that carries on after a 421 shows in the
        timeline (RFC 5321 §3.8)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        half_close = self._original_transport is None and transport.can_write_eof()  # type: ignore[attr-defined]
        if not half_close:  # TLS has none
            self.disconnect("server-close")
            return
        self._close_reason = self._close_reason or "server-close"
        self._discarding = True
        transport.write_eof()  # type: ignore[attr-defined]
        self._linger = asyncio.get_running_loop().call_later(
            LINGER_S, self.disconnect, "server-close"
        )

    async def _until_closed(self) -> None:
        assert self._closed is not None
        await asyncio.shield(self._closed)

    # -- what crosses the wire ----------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._first_bytes_due:
            self._first_bytes_due = False
            self._in_limbo = self._record_plaintext_handshake(data)
        if self._in_limbo:
            return  # a ClientHello nobody will answer is not a command
        if self._in_body:
            data = self._receive_body(data)
        if data:
            self._record_lines(data)
            if not self._discarding:
                super().data_received(data)

    def _record_lines(self, data: bytes) -> None:
        recorder, attempt, tls = self._host.recorder, self.attempt, self._tls_active
        record, record_command = recorder.record, recorder.record_command
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            if self._line:  # the line began in an earlier read
                self._line += data[start:end + 1]
                line = bytes(self._line)
                self._line.clear()
            else:
                line = data[start:end + 1]
            start = end + 1
            if len(line) <= _MAX_RECORDED_LINE:  # bytes: made readable when read
                record_command(attempt, line, tls)
                continue
            text = line.rstrip(b"\r\n")
            if len(text) > _MAX_RECORDED_LINE:
                record(attempt, "command", text[:_MAX_RECORDED_LINE], bytes=len(line), tls=tls,
                       truncated=True)
            else:
                record(attempt, "command", text, bytes=len(line), tls=tls)
        if start < len(data) and len(self._line) <= 2 * _MAX_RECORDED_LINE:
            self._line += data[start:]

    def _receive_body(self, data: bytes) -> bytes:
        """Count message content, fire ``body`` faults at their offsets; return what is
        left after the end-of-data marker (pipelined commands), to be read as lines."""
        end = self._end_of_data(data)
        found = end != -1
        if not found:
            end = content_end = len(data)
        else:  # the final ".\r\n" is not content; the CRLF before it is
            content_end = max(0, end - 3)
        offset = self._body_bytes
        while self._body_faults and (after := self._body_faults[0][0].after_bytes) is not None:
            if after > offset + content_end:
                break
            fault, action = self._body_faults.pop(0)
            cut = after - offset
            if not self._discarding:
                super().data_received(data[:cut])
            self._body_bytes = after
            self._keep_tail(data[:cut])
            self._body_fault(fault, action, data[cut:])
            # a stalled session still counts what arrives, it only stops answering
            return self._receive_body(data[cut:]) if isinstance(action, Stall) else b""
        self._body_bytes = offset + content_end
        self._keep_tail(data[:end] if found else data)
        if not self._discarding:
            super().data_received(data if not found else data[:end])
        if found:
            self._record_body_end(complete=True)
            return data[end:]
        return b""

    def _end_of_data(self, data: bytes) -> int:
        """The index just past ``CRLF.CRLF`` in ``data`` (which may start in the bytes
        before it), or -1. Large chunks are searched once, never copied."""
        tail = self._body_tail
        across = (tail + data[:len(_BODY_END) - 1]).find(_BODY_END)
        if across != -1:
            return across + len(_BODY_END) - len(tail)
        inside = data.find(_BODY_END)
        return -1 if inside == -1 else inside + len(_BODY_END)

    def _keep_tail(self, received: bytes) -> None:
        """Remember the last bytes of content, where a marker split across reads begins."""
        keep = len(_BODY_END) - 1
        self._body_tail = (
            received[-keep:] if len(received) >= keep else (self._body_tail + received)[-keep:]
        )

    def _body_fault(self, fault: Fault, action: Action, rest: bytes) -> None:
        self._record_fault(fault, action, offset=self._body_bytes)
        if isinstance(action, Pause):
            assert self.transport is not None
            self.transport.pause_reading()  # type: ignore[attr-defined]
            # aiosmtpd's StreamReader resumes a transport it paused itself once its buffer
            # drains; it must not resume this pause, or bytes overtake ``rest``.
            self._reader._paused = False  # type: ignore[attr-defined]

            def resume() -> None:
                if self.transport is not None and not self.transport.is_closing():
                    self.transport.resume_reading()  # type: ignore[attr-defined]
                    self.data_received(rest)

            asyncio.get_running_loop().call_later(action.seconds, resume)
        elif isinstance(action, Send):
            self._discarding = True
            for line in action.reply.wire_lines():
                self._record_reply_line(line)
                self._writer.write(line.encode() + b"\r\n")
            self.disconnect("server-close")
        elif isinstance(action, Disconnect):
            self.disconnect("server-reset" if action.reset else "server-close", reset=action.reset)
        else:  # Stall: keep the socket open, read nothing more into the session
            self._discarding = True

    def _record_body_end(self, *, complete: bool) -> None:
        self._in_body = False
        self._host.recorder.record(
            self.attempt, "data", f"{self._body_bytes} bytes of content",
            bytes=self._body_bytes, complete=complete,
        )

    async def push(self, status: str) -> None:  # type: ignore[override]
        if not self._greeted:
            self._greeted = True
            if await self._faults("connect"):
                return
            if self._host.tls.mode == "implicit" and not await self._upgrade("implicit"):
                return
            if await self._faults("banner"):
                return
        final = self._record_reply_line(status)
        code = status[:3]
        if code == "354":
            self._start_body()
        await super().push(status)
        if final and (self._close_after_reply or code == "421"):
            self._hang_up()

    def _record_reply_line(self, line: str) -> bool:
        """Collect a reply's lines; record it once complete. True on its final line."""
        if line[3:4] == "-":
            self._reply_lines.append(line)
            return False
        if self._reply_lines:
            self._reply_lines.append(line)
            text, self._reply_lines = "\n".join(self._reply_lines), []
        else:
            text = line
        self._host.recorder.record_reply(self.attempt, text)
        return True

    def _start_body(self) -> None:
        self._in_body = True
        self._body_tail = b"\r\n"
        self._body_bytes = 0
        self._discarding = False
        schedule = self._host.schedule
        if schedule.has("body"):
            fired = schedule.consult(self._context("body"), every=True)
            self._body_faults = sorted(fired, key=lambda pair: pair[0].after_bytes or 0)

    # -- faults at command phases -------------------------------------------------------

    def _context(self, phase: Phase, argument: str = "") -> FaultContext:
        envelope, session = self.envelope, self.session
        match = _ADDRESS.search(argument)
        peer = session.peer if session is not None else None
        return FaultContext(
            attempt=self.attempt,
            phase=phase,
            now=time.monotonic(),
            tls=self._tls_active,
            argument=argument,
            address=match.group(1) if match else None,
            peer_host=str(peer[0]) if peer else "",
            mail_from=envelope.mail_from if envelope is not None else None,
            rcpt_tos=tuple(envelope.rcpt_tos) if envelope is not None else (),
            server=self._host,
        )

    def _record_fault(self, fault: Fault, action: Action, **data: Any) -> None:
        if isinstance(action, Inject):
            data["lines"] = list(action.lines)
        self._host.recorder.record(
            self.attempt, "fault", fault.describe(),
            phase=fault.at, fault=fault.kind, action=type(action).__name__.lower(), **data,
        )

    async def _faults(self, phase: Phase, argument: str = "") -> bool:
        """Carry out the faults of ``phase``; True if one took over from the server."""
        schedule = self._host.schedule
        if not schedule.has(phase):
            return False
        for fault, action in schedule.consult(self._context(phase, argument)):
            self._record_fault(fault, action)
            if isinstance(action, Pause):
                await sleep_precisely(action.seconds)
            elif isinstance(action, EditCapabilities):
                self._capability_edits.append(action)
            elif isinstance(action, Inject):
                self._inject += action.lines
            if isinstance(action, CONTINUES):
                continue
            await self._take_over(action, phase)
            return True
        return False

    async def _take_over(self, action: Action, phase: Phase) -> None:
        if isinstance(action, Plaintext):  # no TLS: what the client sends first tells
            self._plaintext = self._first_bytes_due = True
            raw = self._original_transport or self.transport
            if raw is not None and not raw.is_closing():
                raw.resume_reading()  # type: ignore[attr-defined]
            return
        if phase == "tls":  # no handshake will follow: read on, to see the client leave
            self._host.recorder.record(
                self.attempt, "tls", "handshake failed: a fault broke it",
                event="handshake", ok=False, outcome="server-fault", alert=None,
                error=f"{type(action).__name__.lower()} instead of a handshake",
            )
            self._in_limbo = True
            raw = self._original_transport or self.transport
            if raw is not None and not raw.is_closing():
                raw.resume_reading()  # type: ignore[attr-defined]
        if isinstance(action, Garbage):
            assert self.transport is not None
            self.transport.write(action.data)  # type: ignore[attr-defined]
            self.disconnect("server-close")
            await self._until_closed()
        elif isinstance(action, Send):
            self._fault_reply_code = action.reply.code
            await self._send(action.reply, then_close=action.then_close)
            if phase in ("connect", "banner") and action.reply.code // 100 != 2:
                self._refusing = True  # RFC 5321 §3.1: wait for QUIT, 503 to the rest
        elif isinstance(action, Disconnect):
            self.disconnect("server-reset" if action.reset else "server-close", reset=action.reset)
            await self._until_closed()
        elif isinstance(action, (Stall, StoreAndDisconnect)):
            await self._until_closed()

    async def _send(self, reply: SMTPReply, *, then_close: bool) -> None:
        lines = reply.wire_lines()
        for line in lines[:-1]:
            await self.push(line)
        self._close_after_reply = then_close
        await self.push(lines[-1])
        if then_close:
            await self._until_closed()

    async def _command(
        self, phase: Phase | None, arg: str | None, run: Callable[[str], Awaitable[None]],
        verb: str = "",
    ) -> None:
        if self._refusing:
            await self.push("503 5.5.1 Bad sequence of commands")
            return
        # at ehlo, ``match`` sees the verb too: "match: EHLO" spares a HELO fallback
        argument = f"{verb} {arg or ''}" if verb else arg or ""
        if phase is not None and await self._faults(phase, argument):
            if phase == "ehlo" and self._fault_reply_code // 100 == 2 and self.session:
                self.session.host_name = arg  # a 2yz greeting by a fault greets all the same
            return
        await run(arg)  # type: ignore[arg-type]

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's own, with the parse remembered (``_parse_address``) and without
        the class it defines on every call."""
        if not arg:
            return "", ""
        parsed = _parse_address(arg)
        if parsed is None:
            return None, None
        address, rest = parsed
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    async def smtp_EHLO(self, arg: str) -> None:
        await self._command("ehlo", arg, super().smtp_EHLO, "EHLO")

    async def smtp_HELO(self, arg: str) -> None:
        await self._command("ehlo", arg, super().smtp_HELO, "HELO")

    async def smtp_MAIL(self, arg: str) -> None:
        await self._command("mail", arg, super().smtp_MAIL)

    async def smtp_RCPT(self, arg: str) -> None:
        await self._command("rcpt", arg, super().smtp_RCPT)

    async def smtp_DATA(self, arg: str) -> None:
        await self._command("data", arg, super().smtp_DATA)

    async def smtp_AUTH(self, arg: str) -> None:
        await self._command("auth", arg, super().smtp_AUTH)

    async def smtp_STARTTLS(self, arg: str) -> None:
        await self._command("starttls", arg, self._starttls)

    async def smtp_QUIT(self, arg: str) -> None:
        self._refusing = False
        if await self._faults("quit", arg or ""):
            return
        self._quit_seen = True
        await super().smtp_QUIT(arg)

    # -- the end of a message -----------------------------------------------------------

    async def end_of_data(self, envelope: Envelope) -> str:
        """Called once the final ``.`` arrived: the ``dot`` phase, then store and reply."""
        if self._in_body:
            self._record_body_end(complete=True)
        schedule = self._host.schedule
        if schedule.has("dot"):
            for fault, action in schedule.consult(self._context("dot")):
                self._record_fault(fault, action)
                if isinstance(action, Pause):
                    await sleep_precisely(action.seconds)
                elif isinstance(action, StoreAndDisconnect):
                    self._store(envelope)
                    self.disconnect("server-close")
                    await self._until_closed()
                elif isinstance(action, Send):
                    if action.reply.code // 100 == 2:
                        self._store(envelope)
                    lines = action.reply.wire_lines()
                    for line in lines[:-1]:
                        await self.push(line)
                    self._close_after_reply = action.then_close
                    return lines[-1]
                else:
                    await self._take_over(action, "dot")
        message_id = self._store(envelope)
        return f"250 2.0.0 OK queued as {message_id or 'message'}"

    def _store(self, envelope: Envelope) -> str | None:
        raw: bytes = envelope.original_content or b""
        header_end = raw.find(b"\r\n\r\n")
        match = _MESSAGE_ID.search(raw, 0, header_end if header_end != -1 else len(raw))
        message_id = match.group(1).decode("utf-8", "replace").strip() if match else None
        self._host.recorder.store_message(
            self.attempt,
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            message_id=message_id,
            raw=raw,
        )
        self._host.note_accepted(time.monotonic())
        return message_id

    # -- TLS -----------------------------------------------------------------------------

    def capabilities(self, responses: list[str]) -> list[str]:
        """The EHLO reply after this attempt's capability faults; records what was offered."""
        edits, self._capability_edits = self._capability_edits, []
        lines = edit_capabilities(responses, edits) if edits else responses
        if any("STARTTLS" in (word.upper() for word in edit.remove) for edit in edits):
            self._starttls_hidden = True
        if self._host.tls.mode != "none" or edits:
            offered = [line[4:].split(" ")[0].upper() for line in lines[1:]]
            self._host.recorder.record(
                self.attempt, "tls", "capabilities: " + " ".join(offered),
                event="capabilities", starttls_offered="STARTTLS" in offered,
                auth_offered="AUTH" in offered, after_tls=self._tls_active,
            )
        return lines

    async def _starttls(self, arg: str) -> None:
        if arg:
            await self.push("501 Syntax: STARTTLS")
            return
        if self._tls_active:
            await self.push("503 5.5.1 TLS already active")
            return
        if self._host.tls.mode != "starttls":
            await self.push("454 4.7.0 TLS not available")
            return
        if self._starttls_hidden:  # as the attacker who stripped it would answer
            await self.push("502 5.5.1 Command not implemented")
            return
        # Written in one go, and reading paused before anything can interleave: the next
        # bytes on the wire must go to the TLS layer, not to the command reader.
        ready = "220 2.0.0 Ready to start TLS"
        self._record_reply_line(ready)
        injected, self._inject = self._inject, ()
        if injected:
            self._host.recorder.record(
                self.attempt, "tls", "injected after 220: " + " | ".join(injected),
                event="injected", lines=list(injected),
            )
        wire = "".join(f"{line}\r\n" for line in (ready, *injected)).encode()
        assert self.transport is not None
        self.transport.write(wire)  # type: ignore[attr-defined]
        self.transport.pause_reading()  # type: ignore[attr-defined]
        await self._upgrade("starttls")

    async def _upgrade(self, mode: str) -> bool:
        """Run the ``tls`` phase, then the server side of the handshake; True on success."""
        reader_buffer: bytes = getattr(self._reader, "_buffer", b"")
        pipelined = len(reader_buffer)  # sent after STARTTLS, before its ClientHello
        if await self._faults("tls"):
            return self._plaintext  # a plaintext server carries on without TLS
        name = self._host.tls.certificate_for(self.attempt)
        self._host.recorder.record(
            self.attempt, "tls", f"{mode} handshake, certificate {name}",
            event="handshake-start", mode=mode, certificate=name, pipelined_bytes=pipelined,
        )
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        raw = self.transport
        assert raw is not None
        self._tls_protocol = _FirstBytesSSLProtocol(
            loop, self, self._host.contexts.get(name), waiter, server_side=True
        )
        self._original_transport = raw
        raw.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(raw)
        raw.resume_reading()  # type: ignore[attr-defined]
        try:
            await waiter
            if "ssl_object" not in self._tls_protocol._extra:
                # asyncio wakes the waiter without an error when the peer closes cleanly
                # in the middle of the handshake
                raise ConnectionResetError("the client closed during the handshake")
        except (OSError, EOFError) as error:
            facts = handshake_failure(error, self._tls_protocol.first_bytes)
            self._host.recorder.record(
                self.attempt, "tls", f"handshake failed: {facts['outcome']} ({facts['error']})",
                event="handshake", ok=False, certificate=name, **facts,
            )
            self._close_reason = self._close_reason or "tls-failed"
            if not raw.is_closing():
                raw.close()
            if self._closed is not None and not self._closed.done():
                self.connection_lost(error)  # the TLS layer never told us: it never opened
            return False
        return True

    def _record_plaintext_handshake(self, first: bytes) -> bool:
        """Record the handshake a plaintext server never did, with what the client sent
        first: a ClientHello (a TLS record, 0x16) or plaintext. True for a ClientHello,
        whose bytes, and the rest of the connection's, are then no commands."""
        facts = handshake_failure(ConnectionError("the server spoke plaintext"), first)
        hello = bool(facts["client_hello"])
        sent = "a ClientHello" if hello else f"plaintext ({facts['first_bytes']!r})"
        self._host.recorder.record(
            self.attempt, "tls", f"handshake failed: the server spoke plaintext; the client"
            f" sent {sent}", event="handshake", ok=False,
            **{**facts, "outcome": "server-plaintext", "error": "the server spoke plaintext"
               " instead of TLS"},
        )
        return hello

    def _record_handshake(self, transport: asyncio.BaseTransport) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        version = ssl_object.version() if isinstance(ssl_object, ssl.SSLObject) else None
        cipher_info = ssl_object.cipher() if isinstance(ssl_object, ssl.SSLObject) else None
        cipher = cipher_info[0] if cipher_info else None
        self._host.recorder.record(
            self.attempt, "tls", f"handshake completed: {version} {cipher}",
            event="handshake", ok=True, certificate=self._host.tls.certificate_for(self.attempt),
            version=version, cipher=cipher,
        )


class _FirstBytesSSLProtocol(sslproto.SSLProtocol):
    """asyncio's TLS layer, keeping the first bytes the client sent into the handshake:
    a ClientHello starts with 0x16, a plaintext client on the implicit-TLS port sends
    ``EHLO`` (or nothing at all), and a verdict must tell them apart."""

    first_bytes = b""

    def _keep(self, chunk: bytes) -> None:
        if len(self.first_bytes) < _FIRST_BYTES:
            self.first_bytes += chunk[: _FIRST_BYTES - len(self.first_bytes)]

    def buffer_updated(self, nbytes: int) -> None:  # Python >= 3.11
        self._keep(bytes(getattr(self, "_ssl_buffer_view")[:nbytes]))  # noqa: B009
        getattr(super(), "buffer_updated")(nbytes)  # noqa: B009 (3.10's stubs lack it)

    def data_received(self, data: bytes) -> None:  # Python 3.10
        self._keep(data)
        super().data_received(data)


_FIRST_BYTES = 32
