"""How long the client waited before each retry, read from the timeline.

Two spacings per retry, as the reference defines them (both are reported):

- start-to-start ``s = a_k - a_{k-1}``: accept to accept (gRPC's deadline semantics);
- failure-to-start ``d = a_k - f_{k-1}``: from the moment the server *caused* the failure
  of the previous attempt to the next accept (the sleep of tenacity, backoff, Polly...).

``f`` is the first failure the server caused: a fault that took over (a reply, a close,
a reset, store-then-drop), a 421, 4yz or 5yz reply, or a failed TLS handshake; when the
server only stalled, the chaos proxy cut the connection, or the client dropped it itself
(its own timeout), the close of the attempt. An
attempt that delivered (message stored, 2yz heard) did not fail: the next one starts a
new series of retries. The server stamps a fault before the client can
see it, and the next accept after the client connected, so ``d`` is never shorter than the
client's sleep: a floor checked on ``d`` cannot fail a client that slept long enough.
Clients that schedule start-to-start (gRPC) are covered too: lower bounds use
``max(s, d)``, upper bounds use ``d``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from harness.timeline import Attempt, Timeline

RFC_RETRY = "RFC 5321 §4.5.4.1"
"""The section on retrying, which the retry checks cite."""

_TAKEOVER = frozenset({"send", "disconnect", "storeanddisconnect"})
_SERVER_ENDS = frozenset({
    "server-close", "server-reset", "idle-timeout", "tls-failed", "proxy-close", "proxy-reset",
})
_CLIENT_DROPS = frozenset({"client-close", "client-reset"})  # gave up, e.g. its own timeout


@dataclass(frozen=True)
class Retry:
    """One retry: attempt ``attempt`` following the failed attempt before it.

    ``n`` counts retries within one series of consecutive failures (1 = first retry);
    a success starts a new series, so ``n`` is what a declared policy is indexed by.
    """

    attempt: int
    n: int
    start_to_start_s: float
    failure_to_start_s: float
    failed_by: str

    @property
    def lower_s(self) -> float:
        """The spacing to hold against lower bounds (never shorter than the sleep)."""
        return max(self.start_to_start_s, self.failure_to_start_s)


def failure_ns(attempt: Attempt) -> tuple[int, str] | None:
    """When and how ``attempt`` failed, or None if it delivered or ended cleanly."""
    if delivered_ok(attempt):
        return None
    for event in attempt.events:
        if event.kind == "fault" and event.data.get("action") in _TAKEOVER:
            return event.t_ns, f"fault {event.data.get('fault', '?')} at {event.data.get('phase')}"
        if event.kind == "reply" and int(event.data.get("code", 0)) // 100 in (4, 5):
            return event.t_ns, f"reply {event.data['code']}"
        if event.kind == "tls" and event.data.get("event") == "handshake" and not event.data.get(
            "ok", True
        ):
            return event.t_ns, "TLS handshake failed"
    if attempt.end_ns is None:
        return None
    stalled = any(event.data.get("action") == "stall" for event in attempt.faults)
    if stalled or attempt.closed_by in _SERVER_ENDS or attempt.closed_by in _CLIENT_DROPS:
        return attempt.end_ns, f"close ({attempt.closed_by})"
    return None


def delivered_ok(attempt: Attempt) -> bool:
    """True when a message was stored on ``attempt`` and the client heard a 2yz for it."""
    stored = False
    for event in attempt.events:
        if event.kind == "message":
            stored = True
        elif stored and event.kind == "reply" and int(event.data.get("code", 0)) // 100 == 2:
            return True
    return False


def retries(timeline: Timeline) -> list[Retry]:
    """Every attempt that followed a failed one, with both spacings, in order."""
    found: list[Retry] = []
    n = 0
    attempts = timeline.by_index()
    for previous, current in pairwise(attempts):
        failure = failure_ns(previous)
        if failure is None:
            n = 0
            continue
        f_ns, how = failure
        n += 1
        found.append(Retry(
            attempt=current.index,
            n=n,
            start_to_start_s=(current.start_ns - previous.start_ns) / 1e9,
            failure_to_start_s=max(0.0, (current.start_ns - f_ns) / 1e9),
            failed_by=how,
        ))
    return found
