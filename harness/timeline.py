"""What happened, recorded as it happened: the Recorder writes, the Timeline reads.

Every side of a run (the fake server, the chaos proxy, the TLS layer) writes into one
:class:`Recorder` with ``time.monotonic_ns()`` stamps. Verdicts and reporters only ever
see the frozen :class:`Timeline` it hands out, so nothing downstream can rewrite history.
Recording is thread-safe: the server writes from its event-loop thread while a test reads
from its own.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import threading
import time
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

CloseReason = Literal[
    "client-quit",  # the client sent QUIT and the server answered
    "client-close",  # the client closed (FIN) without QUIT
    "client-reset",  # the client reset the connection (RST)
    "server-close",  # a fault or a 421 made the server close (FIN)
    "server-reset",  # a fault made the server reset (RST)
    "idle-timeout",  # the server's idle timer closed it
    "server-stop",  # the server was stopped with the connection still open
    "tls-failed",  # the TLS handshake failed (the tls event says how)
    "proxy-close",  # the chaos proxy closed it (FIN): a toxic, or the proxy disabled
    "proxy-reset",  # the chaos proxy reset it (RST): the reset_peer toxic
]

EventKind = Literal[
    "accept", "command", "reply", "fault", "data", "message", "tls", "toxic", "note"
]


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened on one attempt.

    ``text`` is the human-readable line (a command as received, a reply as sent);
    ``data`` holds the structured facts (reply code, fault name, byte offset...).
    """

    t_ns: int
    attempt: int
    kind: EventKind
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


BODY_BUDGET = 64 * 2**20
"""Bytes of message bodies a Recorder keeps in memory. Past it each new message keeps
its envelope, Message-ID, size and digest, not its body, so a run of millions of messages
stays within a fixed budget; the timeline says how many bodies it did not keep."""


#: Headers a client or a relay sets per attempt (RFC 5322 §3.6.4, §3.6.1, §3.6.7;
#: RFC 6376 signs over Date and Message-ID, so its signature changes with them).
PER_ATTEMPT_HEADERS = frozenset({
    "message-id", "date", "received", "return-path", "x-received", "dkim-signature",
    "arc-seal", "arc-message-signature", "arc-authentication-results",
    "authentication-results", "x-mailer-sent-at",
})
_BOUNDARY = re.compile(rb'boundary="?([^";\r\n]+)"?', re.IGNORECASE)


def content_digest(raw: bytes) -> str:
    """A digest of ``raw`` without its per-attempt headers, with header lines unfolded
    and every MIME boundary replaced by a placeholder: what makes two stored messages
    copies of one (``harness.verdicts.copies``), kept for a body the run did not keep."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and kept:
            kept[-1] += b" " + line.strip()
        else:
            kept.append(line)
    fields = [f for f in kept if f.partition(b":")[0].strip().lower().decode("latin-1")
              not in PER_ATTEMPT_HEADERS]
    text = b"\n".join(fields) + b"\n\n" + body
    for number, boundary in enumerate(dict.fromkeys(_BOUNDARY.findall(text))):
        text = text.replace(boundary, b"boundary-%d" % number)
    return "sha256:" + hashlib.sha256(text).hexdigest()[:16]


@dataclass(frozen=True)
class StoredMessage:
    """A message the fake server accepted (and, being a sink, kept).

    ``raw`` is empty when the run's body budget (``BODY_BUDGET``) was spent before it
    arrived: ``kept`` is then False, and its size and digest are what was recorded.
    """

    attempt: int
    t_ns: int
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str | None
    raw: bytes
    kept: bool = True
    dropped_size: int = 0
    dropped_digest: str = ""

    @property
    def size(self) -> int:
        return len(self.raw) if self.kept else self.dropped_size

    @property
    def digest(self) -> str:
        return content_digest(self.raw) if self.kept else self.dropped_digest


@dataclass(frozen=True, slots=True)
class Attempt:
    """One TCP connection from the client under test, numbered from 1 by arrival."""

    index: int
    peer: tuple[str, int] | None
    start_ns: int
    end_ns: int | None
    closed_by: CloseReason | None
    events: tuple[Event, ...]

    def of_kind(self, kind: EventKind) -> list[Event]:
        return [event for event in self.events if event.kind == kind]

    @property
    def commands(self) -> list[str]:
        """Command lines as the server received them, in order."""
        return [event.text for event in self.of_kind("command")]

    @property
    def reply_codes(self) -> list[int]:
        """The code of every reply the server sent, in order."""
        return [int(event.data["code"]) for event in self.of_kind("reply")]

    @property
    def faults(self) -> list[Event]:
        return self.of_kind("fault")

    @property
    def data_bytes(self) -> int:
        """Message content bytes received after ``354``, over every DATA of the attempt."""
        return sum(int(event.data["bytes"]) for event in self.of_kind("data"))


UNEVENTFUL = ("closed by the client's QUIT, every reply 2yz or 3yz, no fault, toxic, TLS"
              " event or note, at most one message stored")
"""What the attempts a long run's report counts instead of listing have in common."""


def uneventful(attempt: Attempt) -> bool:
    """A clean delivery: see :data:`UNEVENTFUL`. Only the report leaves these out; the
    verdicts read every attempt of every run."""
    if attempt.closed_by != "client-quit":
        return False
    messages = 0
    for event in attempt.events:
        kind = event.kind
        if kind == "reply":
            if int(event.data["code"]) >= 400:
                return False
        elif kind == "message":
            messages += 1
        elif kind not in ("accept", "command", "data"):
            return False
    return messages <= 1


@dataclass(frozen=True)
class Timeline:
    """A read-only snapshot of a run: its attempts and the messages stored."""

    origin_ns: int
    attempts: Sequence[Attempt]  # attempt i is attempts[i - 1]: numbered from 1 by arrival
    messages: Sequence[StoredMessage]
    bodies_not_kept: int = 0  # messages past the body budget: envelope, size and digest only
    folded: int = 0  # closed attempts of a long run kept compressed (see FOLD_AFTER)

    def attempt(self, index: int) -> Attempt:
        if 0 < index <= len(self.attempts) and self.attempts[index - 1].index == index:
            return self.attempts[index - 1]
        for attempt in self.attempts:
            if attempt.index == index:
                return attempt
        raise KeyError(f"no attempt {index}; attempts recorded: {len(self.attempts)}")

    def seconds(self, t_ns: int | None) -> float | None:
        """A monotonic stamp as seconds from the start of the run."""
        return None if t_ns is None else round((t_ns - self.origin_ns) / 1e9, 6)

    def by_index(self) -> Sequence[Attempt]:
        """The attempts in order of their numbers. A Recorder's timeline is in that order
        already, and a long run's is read one attempt at a time (sorting it would hold
        them all at once); a hand-built one is sorted."""
        if isinstance(self.attempts, _Attempts):
            return self.attempts
        return sorted(self.attempts, key=lambda a: a.index)

    def listed(self) -> list[Attempt]:
        """The attempts a report lists in full: all of them, except in a run long enough
        to fold (``folded``), where the uneventful ones (:func:`uneventful`) are counted
        instead: a million clean deliveries would make a report nobody can read."""
        if not self.folded:
            return list(self.attempts)
        return [a for a in self.attempts if not uneventful(a)]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: times in seconds from the run's start. ``summarised`` says
        what was kept only in summary: bodies past the budget, uneventful attempts."""
        attempts = self.listed()
        shown = {a.index for a in attempts} if self.folded else None
        messages = [m for m in self.messages if shown is None or m.attempt in shown]
        summary: dict[str, Any] = {}
        if self.bodies_not_kept or self.folded:
            summary = {"bodies_not_kept": self.bodies_not_kept,
                       "body_budget_bytes": BODY_BUDGET}
        if self.folded:
            summary |= {"attempts_not_listed": len(self.attempts) - len(attempts),
                        "messages_not_listed": len(self.messages) - len(messages),
                        "not_listed": UNEVENTFUL}
        return {
            "attempts": [
                {
                    "index": a.index,
                    "peer": list(a.peer) if a.peer else None,
                    "start_s": self.seconds(a.start_ns),
                    "end_s": self.seconds(a.end_ns),
                    "closed_by": a.closed_by,
                    "events": [
                        {"t_s": self.seconds(e.t_ns), "kind": e.kind, "text": e.text,
                         **({"data": dict(e.data)} if e.data else {})}
                        for e in a.events
                    ],
                }
                for a in attempts
            ],
            "messages": [
                {
                    "attempt": m.attempt,
                    "t_s": self.seconds(m.t_ns),
                    "message_id": m.message_id,
                    "mail_from": m.mail_from,
                    "rcpt_to": list(m.rcpt_tos),
                    "size": m.size,
                    **({} if m.kept else {"body_kept": False, "digest": m.digest}),
                }
                for m in messages
            ],
            **({"summarised": summary} if summary else {}),
        }

    def to_json(self, **dumps_options: Any) -> str:
        return json.dumps(self.to_dict(), **dumps_options)

    def transcript(self) -> str:
        """The conversation as a person reads it: ``+0.012s #1 C: EHLO x``."""
        rows: list[tuple[int, str]] = []
        for a in self.listed():
            for e in a.events:
                arrow = {"command": "C:", "reply": "S:"}.get(e.kind, f"[{e.kind}]")
                rows.append((e.t_ns, f"#{a.index} {arrow} {e.text}"))
            if a.end_ns is not None:
                rows.append((a.end_ns, f"#{a.index} [close] {a.closed_by}"))
        rows.sort(key=lambda row: row[0])
        return "\n".join(f"+{self.seconds(t):.3f}s {line}" for t, line in rows)


@dataclass(frozen=True)
class Counts:
    """Counts the Recorder keeps as it writes, so a watcher (deciding, progress reports)
    reads them in constant time instead of rebuilding the timeline on every wake-up."""

    events: int  # every event recorded so far: a sequence number that only grows
    attempts: int  # attempts opened
    open_attempts: int  # attempts not closed yet
    messages: int  # messages stored
    last_close_ns: int | None  # when the latest attempt closed


_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F) if c != 0x09}

_Raw = tuple[int, EventKind, "str | bytes", "dict[str, Any] | bool | None"]
"""An event as written: ``(t_ns, kind, text, data)``. On the hot path ``data`` is not a
dict yet: None for a reply (its code is in its text), True or False for a command line
(whether TLS was on; its byte count is its length, line ending included)."""


def printable(line: bytes) -> str:
    """Bytes from the wire as readable text: invalid UTF-8 and control bytes as ``\\xNN``."""
    return line.decode("utf-8", "backslashreplace").translate(_CONTROL_ESCAPES)


PACK_AFTER = 20_000
"""Events a Recorder keeps as plain tuples. Past that (a long run: ``harness serve`` with a
mailer sending thousands of messages) the run is folded: every ``_BLOCK`` events of an
attempt that stays open are packed (pickled and compressed), and attempts that closed
``_FOLD_DELAY`` closes ago, and messages as they are stored, are folded into compressed
batches of ``FOLD_BATCH``; a read unpacks them one batch at a time. Nothing is lost (the
verdicts read the same timeline); memory per message falls about tenfold."""
_BLOCK = 4096
FOLD_BATCH = 256
_FOLD_DELAY = 64  # closes: an event written just after a close (the proxy's) still lands
#: Events an attempt may close with and still wait plain for its fold (an SMTP
#: conversation has a few dozen); one with more is packed as it closes. Packing every
#: attempt as it closed had its fold unpack it again 64 closes later.
_PACK_AT_CLOSE = 256


_SHARED_DATA: dict[tuple[Any, ...], dict[str, Any]] = {}
"""The facts of replies and command lines, one dict per distinct value shared by every
event that has it (Event data is read-only): a long run's timeline holds millions."""


def _shared(key: tuple[Any, ...], make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    data = _SHARED_DATA.get(key)
    if data is None:
        data = _SHARED_DATA[key] = make()
    return data


def _event(index: int, raw: _Raw) -> Event:
    t_ns, kind, text, data = raw
    if data is None:  # a reply
        code = str(text[:3])
        number = int(code) if code.isdigit() else 0
        data = _shared(("reply", number), lambda: {"code": number})
    elif data is True or data is False:  # a command line, line ending included
        size, tls = len(text), data
        data = _shared(("command", size, tls), lambda: {"bytes": size, "tls": tls})
        text = text.rstrip(b"\r\n") if isinstance(text, bytes) else text.rstrip("\r\n")
    return Event(t_ns, index, kind, printable(text) if isinstance(text, bytes) else text, data)


class _AttemptLog:
    """One attempt as it is written: raw tuples, turned into Events only when read, since
    recording sits on the server's hot path and reading does not."""

    __slots__ = ("built", "closed_by", "end_ns", "index", "packed", "peer", "raw", "start_ns")

    def __init__(self, index: int, peer: tuple[str, int] | None, start_ns: int) -> None:
        self.index = index
        self.peer = peer
        self.start_ns = start_ns
        self.end_ns: int | None = None
        self.closed_by: CloseReason | None = None
        self.raw: list[_Raw] = []
        self.built: list[Event] = []  # Events already made from raw, for the next read
        self.packed: list[bytes] = []  # compressed blocks of events written before raw

    def pack(self) -> None:
        """Compress the events written so far into a block (see ``PACK_AFTER``)."""
        if self.raw:
            self.packed.append(zlib.compress(pickle.dumps(self.raw, pickle.HIGHEST_PROTOCOL), 1))
            self.raw = []
            self.built = []

    def freeze(self) -> Attempt:
        if self.packed:  # built afresh on every read: a cache would undo the packing
            raws = [raw for block in self.packed for raw in pickle.loads(zlib.decompress(block))]
            events = tuple(_event(self.index, raw) for raw in raws + self.raw)
        else:
            self.built += (_event(self.index, raw) for raw in self.raw[len(self.built):])
            events = tuple(self.built)
        return Attempt(self.index, self.peer, self.start_ns, self.end_ns, self.closed_by, events)


_FoldedAttempt = tuple[int, "tuple[str, int] | None", int, "int | None", "CloseReason | None",
                       list[_Raw]]
"""An attempt as folded: index, peer, start, end, close reason, and its events with their
times as offsets from its start (small numbers compress well)."""


def _fold(log: _AttemptLog) -> _FoldedAttempt:
    start = log.start_ns
    raws = [raw for block in log.packed for raw in pickle.loads(zlib.decompress(block))]
    raws += log.raw
    return (log.index, log.peer, start, log.end_ns, log.closed_by,
            [(t - start, kind, text, data) for t, kind, text, data in raws])


def _compress(records: list[Any]) -> bytes:
    return zlib.compress(pickle.dumps(records, pickle.HIGHEST_PROTOCOL), 6)


class _Batches:
    """Records folded in storing order: full batches compressed, the last one open."""

    __slots__ = ("blobs", "open", "size")

    def __init__(self) -> None:
        self.blobs: list[bytes] = []
        self.open: list[Any] = []
        self.size = FOLD_BATCH

    def add(self, record: Any) -> int:
        """Append ``record``; returns the number of its batch."""
        self.open.append(record)
        batch = len(self.blobs)
        if len(self.open) >= self.size:
            self.blobs.append(_compress(self.open))
            self.open = []
        return batch

    def __len__(self) -> int:
        return len(self.blobs) * self.size + len(self.open)

    def frozen(self) -> _FrozenBatches:
        return _FrozenBatches(tuple(self.blobs), tuple(self.open), self.size)


class _FrozenBatches:
    """A snapshot of :class:`_Batches`; unpacks a batch when read, keeping the last few."""

    __slots__ = ("_blobs", "_cache", "_open", "_size")

    def __init__(self, blobs: tuple[bytes, ...], open_: tuple[Any, ...], size: int) -> None:
        self._blobs, self._open, self._size = blobs, open_, size
        self._cache: dict[int, Sequence[Any]] = {}

    def __len__(self) -> int:
        return len(self._blobs) * self._size + len(self._open)

    def batch(self, number: int) -> Sequence[Any]:
        if number == len(self._blobs):
            return self._open
        records = self._cache.get(number)
        if records is None:
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            records = self._cache[number] = pickle.loads(zlib.decompress(self._blobs[number]))
        return records

    def __getitem__(self, position: int) -> Any:
        return self.batch(position // self._size)[position % self._size]


class _LazySequence(Sequence[Any]):
    """A read-only sequence built item by item on each read, so that judging a run of a
    million attempts never holds them all at once; compares equal to a tuple."""

    def __len__(self) -> int:
        raise NotImplementedError

    def _item(self, position: int) -> Any:
        raise NotImplementedError

    @overload
    def __getitem__(self, position: int) -> Any: ...
    @overload
    def __getitem__(self, position: slice) -> tuple[Any, ...]: ...
    def __getitem__(self, position: int | slice) -> Any:
        if isinstance(position, slice):
            return tuple(self._item(i) for i in range(*position.indices(len(self))))
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(position)
        return self._item(position)

    def __iter__(self) -> Iterator[Any]:
        return (self._item(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<{len(self)} {type(self).__name__.strip('_').lower()}>"


class _Attempts(_LazySequence):
    """A folded run's attempts, in order of their numbers."""

    def __init__(self, live: dict[int, Attempt], where: array[int], folded: _FrozenBatches,
                 late: dict[int, tuple[_Raw, ...]]) -> None:
        self._live, self._where, self._folded, self._late = live, where, folded, late
        self._batches: dict[int, dict[int, _FoldedAttempt]] = {}  # the last few read

    def __len__(self) -> int:
        return len(self._where) - 1

    def _item(self, position: int) -> Attempt:
        index = position + 1
        number = self._where[index] - 1
        if number < 0:
            return self._live[index]
        batch = self._batches.get(number)
        if batch is None:
            if len(self._batches) >= 4:
                self._batches.pop(next(iter(self._batches)))
            batch = self._batches[number] = {r[0]: r for r in self._folded.batch(number)}
        _, peer, start, end, closed_by, raws = batch[index]
        events = [_event(index, (start + dt, kind, text, data)) for dt, kind, text, data in raws]
        events += (_event(index, raw) for raw in self._late.get(index, ()))
        return Attempt(index, peer, start, end, closed_by, tuple(events))


class _Messages(_LazySequence):
    """A folded run's messages, in storing order: the first ones as kept, then batches."""

    def __init__(self, head: tuple[StoredMessage, ...], folded: _FrozenBatches) -> None:
        self._head, self._folded = head, folded

    def __len__(self) -> int:
        return len(self._head) + len(self._folded)

    def _item(self, position: int) -> StoredMessage:
        if position < len(self._head):
            return self._head[position]
        return StoredMessage(*self._folded[position - len(self._head)])

class Recorder:
    """The write side: every component of a run records into one Recorder.

    Attempt numbers are handed out here, so the chaos proxy and the fake server agree on
    them: the proxy opens the attempt when the client connects and binds its upstream
    socket's port to it; the server then joins that attempt instead of opening a new one.
    """

    def __init__(
        self, clock: Callable[[], int] = time.monotonic_ns, *, body_budget: int = BODY_BUDGET
    ) -> None:
        self._clock = clock
        self._body_budget = body_budget
        self._body_bytes = 0  # bodies kept so far
        self._bodies_not_kept = 0
        self._lock = threading.Lock()
        self._origin_ns = clock()
        self._attempts: dict[int, _AttemptLog] = {}
        self._messages: list[StoredMessage] = []
        self._upstream_ports: dict[int, int] = {}
        self._changed = threading.Condition(self._lock)
        self._waiting = 0  # threads in wait_for: only then is a change worth announcing
        # what progress() reports, kept up to date by every write
        self._events = 0
        self._open = 0
        self._last_close_ns: int | None = None
        self._milestone = threading.Condition(self._lock)  # an attempt, a close, a message
        self._milestone_waiting = 0
        self._fold_state()

    def _fold_state(self) -> None:
        """What a long run folds into (see ``PACK_AFTER``); empty until it does."""
        self._opened = 0
        self._where = array("I", [0])  # per attempt number: 0 live, else its batch + 1
        self._closed: deque[int] = deque()  # closed, live attempts, oldest first
        self._folded_attempts = _Batches()
        self._folded_messages = _Batches()
        self._late: dict[int, list[_Raw]] = {}  # written to an attempt after it was folded

    def now_ns(self) -> int:
        return self._clock()

    def open_attempt(self, peer: tuple[str, int] | None) -> int:
        """Start a new attempt for a connection that just arrived; returns its number."""
        with self._lock:
            index = self._opened = self._opened + 1
            log = _AttemptLog(index, peer, self._clock())
            self._attempts[index] = log
            self._where.append(0)
            log.raw.append((log.start_ns, "accept", str(peer) if peer else "", {}))
            self._events += 1
            self._open += 1
            self._announce_milestone()
            return index

    def bind_upstream_port(self, port: int, attempt: int) -> None:
        """Say that a connection arriving from local ``port`` belongs to ``attempt``."""
        with self._lock:
            self._upstream_ports[port] = attempt

    def join_attempt(self, peer: tuple[str, int] | None) -> int:
        """The attempt a connection from ``peer`` belongs to, opening one if it is new."""
        if peer is not None:
            with self._lock:
                index = self._upstream_ports.pop(peer[1], None)
            if index is not None:
                return index
        return self.open_attempt(peer)

    def record(
        self, attempt: int, kind: EventKind, text: str | bytes = "", **data: Any
    ) -> None:
        """Append one event to an attempt, stamped now. ``text`` may be the raw bytes of a
        line from the wire; they are made readable (``printable``) when read."""
        self._append(attempt, kind, text, data)

    def record_command(self, attempt: int, line: bytes, tls: bool) -> None:
        """A command line as received, line ending included: the same event as
        ``record(attempt, "command", text, bytes=..., tls=...)``, its facts worked out
        when read, so that the server's hot path stores one small tuple."""
        self._append(attempt, "command", line, tls)

    def record_reply(self, attempt: int, text: str) -> None:
        """A reply as sent: ``record(attempt, "reply", text, code=...)``, the code read
        from the text when the timeline is read."""
        self._append(attempt, "reply", text, None)

    def _append(
        self, attempt: int, kind: EventKind, text: str | bytes,
        data: dict[str, Any] | bool | None,
    ) -> None:
        with self._lock:
            log = self._attempts.get(attempt)
            if log is None:  # folded, or recorded after a reset(): that run is over
                if 0 < attempt < len(self._where) and self._where[attempt]:
                    self._late.setdefault(attempt, []).append((self._clock(), kind, text, data))
                    self._events += 1
                return
            log.raw.append((self._clock(), kind, text, data))
            self._events += 1
            if len(log.raw) >= _BLOCK and self._events > PACK_AFTER:
                log.pack()
            if self._waiting:
                self._changed.notify_all()

    def close_attempt(self, attempt: int, reason: CloseReason) -> None:
        """Mark an attempt closed; the first reason given wins."""
        with self._lock:
            log = self._attempts.get(attempt)
            if log is not None and log.end_ns is None:
                log.end_ns = self._last_close_ns = self._clock()
                log.closed_by = reason
                self._events += 1
                self._open -= 1
                self._closed.append(attempt)
                if self._events > PACK_AFTER:
                    if len(log.raw) > _PACK_AT_CLOSE:
                        log.pack()
                    self._fold_old()
                self._announce_milestone()

    def _fold_old(self) -> None:
        """Fold the attempts that closed more than ``_FOLD_DELAY`` closes ago."""
        while len(self._closed) > _FOLD_DELAY:
            log = self._attempts.pop(self._closed.popleft())
            self._where[log.index] = self._folded_attempts.add(_fold(log)) + 1

    def store_message(
        self,
        attempt: int,
        *,
        mail_from: str,
        rcpt_tos: tuple[str, ...],
        message_id: str | None,
        raw: bytes,
    ) -> StoredMessage:
        with self._lock:
            now = self._clock()
            log = self._attempts.get(attempt)
            if log is None or self._body_bytes + len(raw) <= self._body_budget:
                message = StoredMessage(attempt, now, mail_from, rcpt_tos, message_id, raw)
            else:
                message = StoredMessage(attempt, now, mail_from, rcpt_tos, message_id, b"",
                                        False, len(raw), content_digest(raw))
            if log is None:  # stored after a reset(): that run is over
                return message
            if message.kept:
                self._body_bytes += len(raw)
            else:
                self._bodies_not_kept += 1
            if self._events > PACK_AFTER:
                self._folded_messages.add(
                    (attempt, now, mail_from, rcpt_tos, message_id, message.raw, message.kept,
                     message.dropped_size, message.dropped_digest))
            else:
                self._messages.append(message)
            log.raw.append(
                (message.t_ns, "message", message_id or "",
                 {"size": message.size, "rcpt_to": list(rcpt_tos)})
            )
            self._events += 1
            self._announce_milestone()
            return message

    def wait_for(self, predicate: Callable[[Timeline], bool], timeout: float) -> Timeline:
        """Block until the timeline satisfies ``predicate``; raise TimeoutError otherwise.

        Tests use this instead of sleeping: it wakes on every new attempt, close or message.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            self._waiting += 1
            try:
                while True:
                    timeline = self._snapshot()
                    if predicate(timeline):
                        return timeline
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(
                            f"timeline did not reach the awaited state in {timeout}s"
                        )
                    self._changed.wait(remaining)
            finally:
                self._waiting -= 1

    def progress(self) -> Counts:
        """How far the run has got, in constant time whatever its length."""
        with self._lock:
            return self._progress()

    def wait_progress(self, predicate: Callable[[Counts], bool], timeout: float) -> Counts:
        """Block until ``predicate(progress)`` holds; raise TimeoutError otherwise.

        It wakes only when an attempt opens or closes or a message is stored, and each
        wake-up costs the same however long the run is: the way to watch a long run.
        """
        deadline = time.monotonic() + timeout
        with self._milestone:
            self._milestone_waiting += 1
            try:
                while not predicate(progress := self._progress()):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(
                            f"the run did not reach the awaited state in {timeout}s"
                        )
                    self._milestone.wait(remaining)
                return progress
            finally:
                self._milestone_waiting -= 1

    def timeline(self) -> Timeline:
        """A frozen snapshot of everything recorded so far."""
        with self._lock:
            return self._snapshot()

    def reset(self) -> None:
        """Forget every attempt and message; numbering starts from 1 again."""
        with self._lock:
            self._origin_ns = self._clock()
            self._attempts.clear()
            self._messages.clear()
            self._upstream_ports.clear()
            self._events = self._open = 0
            self._last_close_ns = None
            self._body_bytes = self._bodies_not_kept = 0
            self._fold_state()

    def _announce_milestone(self) -> None:
        if self._waiting:
            self._changed.notify_all()
        if self._milestone_waiting:
            self._milestone.notify_all()

    def _progress(self) -> Counts:
        return Counts(self._events, self._opened, self._open,
                      len(self._messages) + len(self._folded_messages), self._last_close_ns)

    def _snapshot(self) -> Timeline:
        live = {index: log.freeze() for index, log in self._attempts.items()}
        folded = len(self._folded_attempts)
        if not folded and not len(self._folded_messages):
            return Timeline(self._origin_ns, tuple(live.values()), tuple(self._messages),
                            self._bodies_not_kept)
        late = {index: tuple(raws) for index, raws in self._late.items()}
        return Timeline(
            self._origin_ns,
            _Attempts(live, array("I", self._where), self._folded_attempts.frozen(), late),
            _Messages(tuple(self._messages), self._folded_messages.frozen()),
            self._bodies_not_kept,
            folded,
        )
