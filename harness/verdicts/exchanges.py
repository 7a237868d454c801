"""Pair each reply of an attempt with what it answered, so checks speak in SMTP terms.

The server records command lines and replies as they cross the wire. SMTP answers in
order (RFC 5321 §4.3.1, and RFC 2920 keeps the order when pipelining), so a queue pairs
them: the greeting answers the connection (``BANNER``), the reply after the message
content answers the final dot (``DOT``), and every other reply the oldest unanswered line.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from harness.timeline import Attempt, Event


@dataclass(frozen=True)
class Exchange:
    """One request and its reply (``reply`` is None when none came)."""

    verb: str
    request: Event | None
    reply: Event | None

    @property
    def code(self) -> int | None:
        return None if self.reply is None else int(self.reply.data.get("code", 0))

    @property
    def argument(self) -> str:
        if self.request is None or self.request.kind != "command":
            return ""
        return self.request.text.partition(" ")[2].strip()


def verb(command: Event) -> str:
    """The command word of a command line, upper-cased (``MAIL``, ``RCPT``...)."""
    return command.text.strip().partition(" ")[0].upper()


def exchanges(attempt: Attempt) -> list[Exchange]:
    """Every request of ``attempt`` with its reply, in the order they were made."""
    done: list[Exchange] = []
    pending: deque[tuple[str, Event | None]] = deque([("BANNER", None)])
    for event in attempt.events:
        if event.kind == "command":
            pending.append((verb(event), event))
        elif event.kind == "data" and event.data.get("complete", True):
            pending.append(("DOT", event))
        elif event.kind == "reply":
            name, request = pending.popleft() if pending else ("UNSOLICITED", None)
            done.append(Exchange(name, request, event))
    done.extend(Exchange(name, request, None) for name, request in pending if name != "BANNER")
    return done


def address(argument: str) -> str:
    """The address in ``FROM:<a@b> SIZE=10`` (lower-cased), or the argument itself."""
    start, end = argument.find("<"), argument.find(">")
    if 0 <= start < end:
        return argument[start + 1:end].lower()
    return argument.lower()
