"""The expectations that are not about backoff or TLS: delivery, attempts, permanence,
421, giving up, exit code. Each function takes the timeline and returns one Result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from harness.timeline import Attempt, StoredMessage, Timeline
from harness.verdicts.calibration import Calibration
from harness.verdicts.delays import delivered_ok
from harness.verdicts.exchanges import Exchange, address, exchanges, verb
from harness.verdicts.result import Result, ms
from harness.verdicts.spec import AttemptBounds, ClientExit, Delivered, Level

RFC_CLASSES = "RFC 5321 §4.2.1"
RFC_CLOSE = "RFC 5321 §3.8"
RFC_RETRY = "RFC 5321 §4.5.4.1"
RFC_DUPLICATES = "RFC 5321 §4.2.5 and RFC 1047"
#: Replies to these requests are about the whole message: a 5yz there means stop.
_WHOLE_MESSAGE = frozenset({"BANNER", "MAIL", "DATA", "DOT"})
_TRANSACTION_END = frozenset({"MAIL", "RSET", "QUIT", "DATA"})


# -- delivered and duplicate-risk ------------------------------------------------------


def message_key(message: StoredMessage) -> str:
    """What makes two stored messages copies of one: the Message-ID, else the bytes."""
    if message.message_id:
        return message.message_id
    return "sha256:" + hashlib.sha256(message.raw).hexdigest()[:16]


def unacknowledged(timeline: Timeline) -> list[int]:
    """Attempts where the server stored a message the client never heard a 2yz for:
    RFC 1047's synchronisation gap, where retrying is right and duplicates the message."""
    return [a.index for a in timeline.attempts if a.of_kind("message") and not delivered_ok(a)]


def _copies(timeline: Timeline) -> dict[str, list[int]]:
    copies: dict[str, list[int]] = {}
    for message in timeline.messages:
        copies.setdefault(message_key(message), []).append(message.attempt)
    return copies


def _excused(copies: Mapping[str, Sequence[int]], gaps: Sequence[int]) -> dict[str, int]:
    """Extra copies per message that the gap explains: one per unacknowledged copy."""
    return {key: min(len(at) - 1, sum(1 for a in at if a in gaps)) for key, at in copies.items()}


def delivered(timeline: Timeline, expected: Delivered) -> Result:
    """``once``: every message stored exactly once, with one extra copy allowed per copy
    stored in the synchronisation gap (reported as ``duplicate-risk``); ``at-least-once``:
    some copy stored; ``never``: nothing stored."""
    name = "delivered"
    copies = _copies(timeline)
    gaps = unacknowledged(timeline)
    evidence: dict[str, Any] = {"expected": expected, "copies": copies,
                                "unacknowledged_attempts": gaps}
    stored = sum(len(at) for at in copies.values())
    if expected == "never":
        if not stored:
            return Result(name, "violation", "passed", "No message was delivered, as expected.",
                          evidence)
        first = min(a for at in copies.values() for a in at)
        return Result(name, "violation", "failed", (
            f"The client delivered {stored} message(s), the first on attempt {first}, where the"
            " scenario expects none: it went on after a permanent rejection or a session it"
            " should have refused. Stop at the first 5yz or failed certificate check."),
            evidence)
    if not stored:
        return Result(name, "violation", "failed", (
            f"No message was delivered in {len(timeline.attempts)} attempt(s); {RFC_RETRY}:"
            " transient failures (4yz, dropped connections) MUST be retried until the"
            " message is transmitted or the sender gives up."), evidence)
    if expected == "at-least-once":
        return Result(name, "violation", "passed",
                      f"The message was delivered ({stored} copy(ies)).", evidence)
    excused = _excused(copies, gaps)
    extra = {key: at for key, at in copies.items() if len(at) - 1 > excused[key]}
    if extra:
        key, at = next(iter(extra.items()))
        return Result(name, "violation", "failed", (
            f"Message {key} was delivered {len(at)} times (attempts"
            f" {', '.join(map(str, at))}); the server had accepted it with a 250 already."
            f" {RFC_DUPLICATES}: after a 2yz to the final dot the server is responsible;"
            " do not send it again."), {**evidence, "duplicates": extra})
    if any(excused.values()):
        return Result(name, "violation", "passed", (
            "Delivered once, plus one copy per connection dropped between storing and"
            " replying (see duplicate-risk)."), evidence)
    return Result(name, "violation", "passed", "The message was delivered exactly once.",
                  evidence)


def duplicate_risk(timeline: Timeline) -> Result | None:
    """Advisory, only when the server stored a message the client never heard acknowledged."""
    gaps = unacknowledged(timeline)
    if not gaps:
        return None
    copies = _copies(timeline)
    excused = {key: n for key, n in _excused(copies, gaps).items() if n}
    evidence: dict[str, Any] = {"unacknowledged_attempts": gaps, "copies": copies}
    if excused:
        key = next(iter(excused))
        return Result("duplicate-risk", "advisory", "failed", (
            f"Message {key} was stored on attempt {gaps[0]} but the connection dropped before"
            f" the 250, and the retry stored it again ({len(copies[key])} copies): expected by"
            f" {RFC_DUPLICATES}. To avoid it, surface 'delivery uncertain' instead of retrying,"
            " or let the receiver deduplicate by Message-ID."), evidence)
    return Result("duplicate-risk", "advisory", "passed", (
        f"The connection dropped after the message was stored (attempt {gaps[0]}) and no"
        " duplicate followed."), evidence)


# -- attempts ---------------------------------------------------------------------------------


def attempts(timeline: Timeline, bounds: AttemptBounds) -> Result:
    """C2: at most ``max`` connections (violation: unbounded retries), at least ``min``
    (deviation: gave up or never retried a transient failure)."""
    count = len(timeline.attempts)
    evidence = {"attempts": count, "min": bounds.min, "max": bounds.max}
    level: Level = "violation" if bounds.max is not None else "deviation"
    if bounds.max is not None and count > bounds.max:
        return Result("attempts", "violation", "failed", (
            f"The client connected {count} times, more than the {bounds.max} allowed; bound"
            f" the retries (a maximum count or a give-up time, {RFC_RETRY}) and report a"
            " transient failure when they run out."), evidence)
    if bounds.min is not None and count < bounds.min:
        return Result("attempts", "deviation", "failed", (
            f"The client connected {count} time(s), fewer than the {bounds.min} expected: it"
            f" gave up on a transient failure; {RFC_CLASSES}: after a 4yz or a dropped"
            " connection the client SHOULD try again."), evidence)
    return Result("attempts", level, "passed", f"The client connected {count} time(s).",
                  evidence)


# -- no-retry-after-permanent (C10) --------------------------------------------------------


def permanent_failures(attempt: Attempt) -> list[Exchange]:
    """The 5yz replies of ``attempt`` that reject the whole message: to the greeting, MAIL,
    DATA, the final dot, or to every RCPT of a transaction."""
    found: list[Exchange] = []
    rcpt: list[Exchange] = []
    for exchange in exchanges(attempt):
        if exchange.verb in _TRANSACTION_END or exchange.verb == "DOT":
            found.extend(_all_rcpt_refused(rcpt))
            rcpt = []
        code = exchange.code
        if exchange.verb == "RCPT" and code is not None:
            rcpt.append(exchange)
        elif exchange.verb in _WHOLE_MESSAGE and code is not None and code // 100 == 5:
            found.append(exchange)
    found.extend(_all_rcpt_refused(rcpt))
    return sorted(found, key=lambda e: e.reply.t_ns if e.reply else 0)


def _all_rcpt_refused(rcpt: Sequence[Exchange]) -> list[Exchange]:
    if rcpt and all(e.code is not None and e.code // 100 == 5 for e in rcpt):
        return [rcpt[-1]]
    return []


def no_retry_after_permanent(timeline: Timeline) -> Result:
    """C10: after a permanent rejection of the message, no further try of it: no MAIL with
    the same sender later on that connection, and no later connection that is not
    plainly about another message (a different MAIL FROM)."""
    name = "no-retry-after-permanent"
    for attempt in timeline.attempts:
        failures = permanent_failures(attempt)
        if not failures:
            continue
        first = failures[0]
        rejected_ns = first.reply.t_ns if first.reply is not None else attempt.start_ns
        sender = _transaction_sender(attempt, first)
        retried = [
            f"#{attempt.index} {e.text}" for e in attempt.of_kind("command")
            if e.t_ns > rejected_ns and verb(e) == "MAIL"
            and (sender is None or address(e.text.partition(":")[2]) == sender)
        ]
        later = [a.index for a in timeline.attempts
                 if a.index > attempt.index and _same_message(a, sender)]
        evidence = {"attempt": attempt.index, "rejected": first.verb, "code": first.code,
                    "reply": first.reply.text if first.reply else "",
                    "retried_on_same_connection": retried, "later_attempts": later}
        if retried or later:
            where = (f"on attempts {', '.join(map(str, later))}" if later
                     else "on the same connection")
            return Result(name, "deviation", "failed", (
                f"After {first.code} to {first.verb} on attempt {attempt.index} the client tried"
                f" the message again {where}; {RFC_CLASSES}: a 5yz is permanent, the client"
                " SHOULD NOT repeat the request. Report the failure instead of retrying."),
                evidence)
        return Result(name, "deviation", "passed", (
            f"After {first.code} to {first.verb} on attempt {attempt.index} the client stopped."),
            evidence)
    return Result(name, "deviation", "skipped", "The server sent no permanent (5yz) rejection.")


def _transaction_sender(attempt: Attempt, failure: Exchange) -> str | None:
    """The MAIL FROM address of the rejected transaction (None for the greeting)."""
    if failure.verb == "BANNER" or failure.reply is None:
        return None
    sender = None
    for e in attempt.of_kind("command"):
        if e.t_ns > failure.reply.t_ns:
            break
        if verb(e) == "MAIL":
            sender = address(e.text.partition(":")[2])
    return sender


def _same_message(attempt: Attempt, sender: str | None) -> bool:
    mails = [address(e.text.partition(":")[2]) for e in attempt.of_kind("command")
             if verb(e) == "MAIL"]
    return sender is None or not mails or sender in mails


# -- closes-after-421 ---------------------------------------------------------------------------


def closes_after_421(timeline: Timeline) -> Result:
    """After a 421 the connection is dead (RFC 5321 §3.8): nothing more but QUIT on it."""
    name = "closes-after-421"
    seen: list[int] = []
    for attempt in timeline.attempts:
        replies = [e for e in attempt.of_kind("reply") if int(e.data.get("code", 0)) == 421]
        if not replies:
            continue
        seen.append(attempt.index)
        after = [e.text for e in attempt.of_kind("command")
                 if e.t_ns > replies[0].t_ns and verb(e) != "QUIT"]
        if after:
            return Result(name, "violation", "failed", (
                f"After 421 on attempt {attempt.index} the client went on with"
                f" {after[0]!r} on the same connection; {RFC_CLOSE}: 421 means the server is"
                " closing the channel. Close it (QUIT at most) and retry later on a new"
                " connection."), {"attempt": attempt.index, "commands_after_421": after})
    if not seen:
        return Result(name, "violation", "skipped", "The server sent no 421.")
    return Result(name, "violation", "passed", (
        f"After each 421 (attempts {', '.join(map(str, seen))}) the client sent nothing more"
        " but QUIT on that connection."), {"attempts_with_421": seen})


# -- gives-up-within (C2) ------------------------------------------------------------------------


def gives_up_within(
    timeline: Timeline, bound_s: float, calibration: Calibration, duration_s: float | None
) -> Result:
    """From the first attempt's start to the last attempt's close, within ``bound_s``
    plus the calibrated slack. ``duration_s`` (the observation's length from the
    timeline's origin) ends a last attempt still open; one closed by stopping the server
    was still open at the end of the observation too."""
    name = "gives-up-within"
    if not timeline.attempts:
        return Result(name, "violation", "passed", "The client made no attempt.")
    first, last = timeline.attempts[0], timeline.attempts[-1]
    # stopping the server closes what is still open: the client had not given up by then
    still_open = last.end_ns is None or last.closed_by == "server-stop"
    if last.end_ns is not None:
        end_ns = last.end_ns
    elif duration_s is not None:
        end_ns = timeline.origin_ns + int(duration_s * 1e9)
    else:
        end_ns = max(e.t_ns for a in timeline.attempts for e in a.events)
    span = (end_ns - first.start_ns) / 1e9
    status = calibration.upper_status(span, bound_s)
    evidence = {"first_attempt": first.index, "last_attempt": last.index,
                "span_s": round(span, 6), "bound_s": bound_s,
                "slack_s": round(calibration.slack_s(bound_s), 6), "still_open": still_open}
    if status == "failed":
        return Result(name, "violation", "failed", (
            f"The client was still trying {ms(span)} after its first attempt (attempt"
            f" {last.index}), beyond {ms(bound_s)} plus slack; {RFC_RETRY}: give up after the"
            " declared time and report a transient failure."), evidence)
    if status == "inconclusive":
        return Result(name, "violation", "inconclusive", (
            f"The client's last attempt ended {ms(span)} after its first, within the timer-noise"
            f" band above {ms(bound_s)}: undecidable on this machine."), evidence)
    if still_open:
        return Result(name, "violation", "inconclusive", (
            f"Attempt {last.index} was still open at the end of the observation ({ms(span)}"
            " in): the client had not given up yet."), evidence)
    return Result(name, "violation", "passed",
                  f"The client gave up or finished {ms(span)} after its first attempt.", evidence)


# -- client-exit ---------------------------------------------------------------------------------


def client_exit(expected: ClientExit, code: int | None) -> Result:
    """The exit status is how a command-line client reports the outcome to its caller."""
    name = "client-exit"
    evidence = {"expected": expected, "exit_code": code}
    if code is None:
        return Result(name, "violation", "skipped",
                      "The client's exit code is not known (it is not a process).", evidence)
    if (code == 0) == (expected == "zero"):
        return Result(name, "violation", "passed", f"The client exited with {code}.", evidence)
    if expected == "zero":
        return Result(name, "violation", "failed", (
            f"The client exited with {code} although the scenario lets it succeed; check what"
            " it printed: it reported a failure the server did not cause for good."), evidence)
    return Result(name, "violation", "failed", (
        "The client exited with 0 although the message could not be delivered; report a"
        f" failure (non-zero exit) so callers do not take it as sent ({RFC_CLASSES})."), evidence)
