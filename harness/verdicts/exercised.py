"""Whether a run tested anything: what must have happened for its verdict to mean something.

A scenario exists to put the client in a situation: a connection that gets a 421, a
certificate to refuse, a second recipient to reject. When the situation never arose (the
client never connected, a planned fault never fired, no TLS handshake was attempted,
every key check had nothing to judge), the checks' results say nothing about the client,
and the scenario is *not exercised*: the reasons below say what happened instead, in
words from the timeline. A not-exercised scenario is never shown as passed.
"""

from __future__ import annotations

import math
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.timeline import Attempt, Timeline
from harness.verdicts.exchanges import exchanges
from harness.verdicts.result import Result

_COMMAND_OF_PHASE = {
    "ehlo": "EHLO", "starttls": "STARTTLS", "auth": "AUTH", "mail": "MAIL FROM",
    "rcpt": "RCPT TO", "data": "DATA", "quit": "QUIT",
}


class PlannedFault(Protocol):
    """What this module reads of a planned fault (a :class:`harness.faults.Fault`); and
    ``when``, on the kinds limited to one side of TLS (``hang``, ``capabilities``)."""

    @property
    def kind(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def match(self) -> str | None: ...
    @property
    def probability(self) -> float: ...
    @property
    def after_bytes(self) -> int | None: ...
    @property
    def selector(self) -> Container[int]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Situation:
    """What a scenario needs to have happened: its faults fired; a TLS handshake
    attempted when it serves TLS for a reason other than refusing it."""

    faults: Sequence[PlannedFault] = ()
    tls: str = "none"
    address: str = ""
    needs_auth: bool = False
    """The scenario offers AUTH to judge how the client authenticates (or requires it):
    it must have sent AUTH. A client that never does, given no credentials or ignoring
    them, tells nothing about authenticating."""
    outage_s: float | None = None
    """The service refuses connections for this long from the start (``down`` with
    ``for_s``; infinite without). A refused connection leaves no attempt, so a client
    that ended within it without an attempt may have been refused, or never tried (a
    command that never connects): the timeline cannot tell, and the reason says so."""
    messages: int = 1
    """The messages the scenario asks one client for: a client that sends one and stops
    never meets what happens to the next."""

    @property
    def needs_handshake(self) -> bool:
        """A TLS scenario needs a ClientHello, unless its faults keep TLS from starting
        (STARTTLS stripped, refused or answered oddly): then the faults are the test.
        On the implicit-TLS port the client starts TLS itself, before any fault can stop
        it: a client that never sent a ClientHello there did not take part."""
        if self.tls == "none":
            return False
        stops = ("starttls", "tls") if self.tls == "starttls" else ("starttls",)
        return not any(f.kind == "strip-starttls" or f.at in stops for f in self.faults)


def not_exercised(
    timeline: Timeline,
    situation: Situation,
    results: Sequence[Result],
    *,
    client_note: str = "",
    client_ended_s: float | None = None,
) -> tuple[str, ...]:
    """Why ``timeline`` did not exercise ``situation``; empty when it did.
    ``client_ended_s``: when the client under test ended, from the start of the run."""
    if not timeline.attempts:
        where = f" to {situation.address}" if situation.address else ""
        outage = ""
        if (situation.outage_s is not None and client_ended_s is not None
                and client_ended_s < situation.outage_s):
            lasted = ("refused every connection" if situation.outage_s == math.inf else
                      f"refused connections for its first {situation.outage_s:g} s")
            outage = (f" (the service {lasted} and the client ended within that, after"
                      f" {client_ended_s:.2f} s: a refused connection leaves no attempt, so"
                      " whether it tried is unknown)")
        return (f"the client never connected{where}{outage}{_joined(client_note)}",)
    reasons = [reason for fault in situation.faults
               if (reason := _unfired(fault, timeline)) is not None]
    if situation.needs_handshake and _tls_offered(timeline, situation.tls) and (
            not _handshake_attempted(timeline)):
        reasons.append(_no_handshake(timeline, situation.tls))
    if situation.needs_auth and not any(_is(c, "AUTH") for a in timeline.attempts
                                        for c in a.commands):
        reasons.append(f"the client never sent AUTH{_refused_unauthenticated(timeline)}: give"
                       " it credentials ({user}, {password}) to judge how it authenticates")
    if situation.messages > 1 and _stopped_after_one(timeline):
        reasons.append(f"the client sent one message and no other, where the scenario asks"
                       f" for {situation.messages} ({{messages}}, HARNESS_SMTP_MESSAGES)")
    if reasons or any(a.faults for a in timeline.attempts):
        return tuple(reasons)  # a fault that fired is the situation, whatever else applied
    key = [r for r in results if r.key]
    undecided = [r for r in key if r.status in ("skipped", "inconclusive")]
    if key and len(undecided) == len(key):
        reasons += [f"{r.name} was {r.status}: {r.detail}" for r in undecided]
    return tuple(reasons)


def _refused_unauthenticated(timeline: Timeline) -> str:
    """`` (MAIL FROM got 530 ...)`` when the server refused the client for not logging in."""
    for attempt in timeline.attempts:
        for exchange in exchanges(attempt):
            if exchange.code == 530 and exchange.reply is not None:
                return (f" ({exchange.verb} on attempt {attempt.index} got"
                        f" {exchange.reply.text!r})")
    return ""


def _joined(note: str) -> str:
    return f"; {note}" if note else ""


def _unfired(fault: PlannedFault, timeline: Timeline) -> str | None:
    """Why a fault that should have fired did not; None when it fired or had no chance
    (left to chance by its probability, or planned for attempts that never came)."""
    if fault.probability < 1.0:
        return None
    eligible = [a for a in timeline.attempts if a.index in fault.selector]
    if not eligible:
        return None
    description = fault.describe()
    for attempt in eligible:
        for event in attempt.faults:
            if event.data.get("fault") == fault.kind and event.text == description:
                return None
    return f"the planned {description} at {fault.at} never fired: {_what_came(fault, eligible)}"


def _what_came(fault: PlannedFault, attempts: Sequence[Attempt]) -> str:
    """What the eligible attempts did instead of reaching the fault."""
    numbers = ", ".join(str(a.index) for a in attempts)
    which = f"attempt{'s' if len(attempts) > 1 else ''} {numbers}"
    if fault.at == "body" and fault.after_bytes is not None:
        most = max(a.data_bytes for a in attempts)
        if not any(a.of_kind("data") for a in attempts):
            return f"{which} sent no message content"
        return (f"it fires after {fault.after_bytes:,} bytes of content, and the largest"
                f" message on {which} had {most:,}")
    if fault.kind == "idle-timeout":
        return _not_reused(attempts, int(getattr(fault, "after", 1)))
    command = _COMMAND_OF_PHASE.get(fault.at)
    if fault.at in ("connect", "banner"):
        return f"{which} connected, and its condition was not met"
    if command is None:
        return f"{which} never reached {fault.at}"
    sent = [c for a in attempts for c in a.commands if _is(c, command)]
    if not sent:
        return f"{which} sent no {command}"
    when = getattr(fault, "when", "always")  # a fault limited to one side of TLS
    if when in ("before-tls", "after-tls") and not any(
            _is(c.text, command) and bool(c.data.get("tls")) == (when == "after-tls")
            for a in attempts for c in a.of_kind("command")):
        return f"{which} sent no {command} {'over TLS' if when == 'after-tls' else 'before TLS'}"
    occurrence = int(getattr(fault, "occurrence", 0) or 0)
    if occurrence > len(sent):
        return (f"it fires at {command} number {occurrence} of the run, and {which} sent"
                f" {len(sent)}")
    if fault.match is not None:
        shown = ", ".join(sorted(set(sent))[:4])
        return f"no {command} on {which} contained {fault.match!r} (sent: {shown})"
    return f"{which} sent {command}, and its condition was not met"


def _stopped_after_one(timeline: Timeline) -> bool:
    """No MAIL FROM came after the first message was stored: the client never began a
    second one."""
    stored = [e.t_ns for a in timeline.attempts for e in a.of_kind("message")]
    if not stored:
        return False
    first = min(stored)
    return not any(e.t_ns > first and _is(e.text, "MAIL FROM")
                   for a in timeline.attempts for e in a.of_kind("command"))


def _not_reused(attempts: Sequence[Attempt], after: int) -> str:
    """Why an idle-timeout never fired: no connection carried more than ``after``
    transactions, so none was kept for another message."""
    most = max(sum(1 for c in a.commands if _is(c, "MAIL FROM")) for a in attempts)
    return (f"no connection was reused: the fault closes one kept for another message after"
            f" {after} transaction(s), and each of the client's {len(attempts)} connection(s)"
            f" carried at most {most}. A client that opens a new connection for every"
            " message (or sends one message where the scenario asks for {messages}) has no"
            " pooled connection to lose")


def _is(command_line: str, command: str) -> bool:
    upper = command_line.upper()
    if command == "EHLO":
        return upper.startswith(("EHLO", "HELO"))
    return upper.startswith(command)


def _tls_offered(timeline: Timeline, tls: str) -> bool:
    """Implicit TLS is always on offer; STARTTLS only once an EHLO reply listed it (a
    server that refuses EHLO, or a fault that strips it, leaves the client no TLS)."""
    if tls != "starttls":
        return True
    return any(event.data.get("starttls_offered") for attempt in timeline.attempts
               for event in attempt.of_kind("tls"))


def _handshake_attempted(timeline: Timeline) -> bool:
    for attempt in timeline.attempts:
        for event in attempt.of_kind("tls"):
            if event.data.get("event") == "handshake" and (
                event.data.get("ok") or event.data.get("client_hello", True)
            ):
                return True
    return False


def _no_handshake(timeline: Timeline, tls: str) -> str:
    if tls == "starttls":
        if not any(_is(c, "STARTTLS") for a in timeline.attempts for c in a.commands):
            commands = [c.split(" ")[0].split(":")[0].upper()
                        for a in timeline.attempts for c in a.commands]
            sent = ", ".join(dict.fromkeys(commands)) or "nothing"
            return f"the client never issued STARTTLS (it sent: {sent})"
        return "the client issued STARTTLS but sent no TLS ClientHello"
    plain = [str(e.data.get("first_bytes")) for a in timeline.attempts
             for e in a.of_kind("tls") if e.data.get("first_bytes")]
    if plain:
        return ("no TLS ClientHello arrived on the implicit-TLS port: the client spoke"
                f" plaintext ({plain[0]!r})")
    return ("no TLS ClientHello arrived on the implicit-TLS port: the client sent nothing"
            " and waited (a plaintext client waiting for a banner)")
