"""The expectations that are not about backoff or TLS: delivery, attempts, permanence,
421, giving up, exit code. Each function takes the timeline and returns one Result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.timeline import Attempt, Timeline
from harness.verdicts.calibration import Calibration
from harness.verdicts.copies import Copies, group_copies
from harness.verdicts.delays import RFC_RETRY, delivered_ok, failure_ns
from harness.verdicts.exchanges import Exchange, address, exchanges, verb
from harness.verdicts.result import Result, ms
from harness.verdicts.spec import AttemptBounds, ClientExit, Delivered, Level

RFC_CLASSES = "RFC 5321 §4.2.1"
RFC_CLOSE = "RFC 5321 §3.8"
RFC_DUPLICATES = "RFC 5321 §4.2.5 and RFC 1047"
RFC_AUTH = "RFC 4954 §4, §6"
RFC_REST = "RFC 5321 §4.5.3.1.10, §4.5.4.1"
#: Replies to these requests are about the whole message: a 5yz there means stop.
_WHOLE_MESSAGE = frozenset({"BANNER", "MAIL", "DATA", "DOT"})
_TRANSACTION_END = frozenset({"MAIL", "RSET", "QUIT", "DATA"})


# -- delivered and duplicate-risk ------------------------------------------------------

NEVER_CONNECTED = "The client never connected: nothing to judge."
RFC_MESSAGE_ID = "RFC 5322 §3.6.4"


def unacknowledged(timeline: Timeline) -> list[int]:
    """Attempts where the server stored a message the client never heard a 2yz for:
    RFC 1047's synchronisation gap, where retrying is right and duplicates the message."""
    return [a.index for a in timeline.attempts if a.of_kind("message") and not delivered_ok(a)]


def _excused(group: Copies, gaps: Sequence[int]) -> int:
    """Extra copies of ``group`` that the gap explains: one per copy stored in it, as long
    as the copies keep one Message-ID (a receiver can then deduplicate them)."""
    if group.new_ids:
        return 0
    return min(group.count - 1, sum(1 for a in group.attempts if a in gaps))


def asked_for(groups: list[Copies], messages: int) -> list[Copies]:
    """Split off, from same-content groups without a repeated Message-ID, as many single
    messages as the workload asked for beyond the distinct contents stored."""
    spare = max(0, messages - len(groups))
    result: list[Copies] = []
    for group in groups:
        ids = [m for m in group.message_ids if m]
        while spare and group.count > 1 and len(set(ids)) == len(ids):
            spare -= 1
            group, last = group.take_last()
            result.append(last)
            ids = [m for m in group.message_ids if m]
        result.append(group)
    return result


EVIDENCE_GROUPS = 100
"""Past this many distinct messages (a long ``serve`` run), the ``copies`` evidence names
only the messages stored more than once; ``stored_once`` counts the rest."""


def _copies_evidence(groups: Sequence[Copies]) -> dict[str, Any]:
    if len(groups) <= EVIDENCE_GROUPS:
        return {g.key: list(g.attempts) for g in groups}
    several = {g.key: list(g.attempts) for g in groups if g.count > 1}
    return {**several, "stored_once": len(groups) - len(several)}


def delivered(timeline: Timeline, expected: Delivered, messages: int = 1) -> Result:
    """``once``: every message stored exactly once, with one extra copy allowed per copy
    stored in the synchronisation gap (reported as ``duplicate-risk``) when the retry
    kept the Message-ID; ``at-least-once``: some copy stored; ``never``: nothing stored.
    Copies are found by Message-ID and by content (:mod:`harness.verdicts.copies`).
    ``messages`` is how many the scenario asked for: when several instances send the same
    content without a Message-ID, that many same-content messages are not copies."""
    name = "delivered"
    groups = asked_for(group_copies(timeline.messages), messages)
    gaps = unacknowledged(timeline)
    evidence: dict[str, Any] = {"expected": expected, "copies": _copies_evidence(groups),
                                "unacknowledged_attempts": gaps}
    stored = sum(g.count for g in groups)
    if not timeline.attempts:
        if expected in ("never", "at-most-once"):
            return Result(name, "violation", "skipped", NEVER_CONNECTED, evidence)
        return Result(name, "violation", "failed",
                      "The client never connected, so no message was delivered.", evidence)
    if expected == "never":
        if not stored:
            return Result(name, "violation", "passed", "No message was delivered, as expected.",
                          evidence)
        first = min(a for g in groups for a in g.attempts)
        return Result(name, "violation", "failed", (
            f"The client delivered {stored} message(s), the first on attempt {first}, where the"
            f" scenario expects none: {went_on(timeline.attempt(first))}."), evidence)
    if expected == "at-most-once" and not stored:
        return Result(name, "violation", "passed", (
            f"No message was delivered in {len(timeline.attempts)} attempt(s), which the"
            " scenario accepts (refusing is safe here)."), evidence)
    if not stored:
        last = timeline.attempts[-1]
        ending, transient = attempt_ending(last)
        detail = (f"No message was delivered in {len(timeline.attempts)} attempt(s); the last"
                  f" (attempt {last.index}) {ending}.")
        if transient:
            detail += (f" {RFC_RETRY}: transient failures (4yz, dropped connections) MUST be"
                       " retried until the message is transmitted or the sender gives up.")
        return Result(name, "violation", "failed", detail, evidence)
    if expected == "at-least-once":
        return Result(name, "violation", "passed",
                      f"The message was delivered ({stored} copy(ies)).", evidence)

    extra = [g for g in groups if g.most_per_recipient - 1 > _excused(g, gaps)]
    if extra:
        g = extra[0]
        where = ", ".join(map(str, g.attempts))
        if g.new_ids:
            return Result(name, "violation", "failed", (
                f"Message {g.key} was delivered {g.count} times (attempts {where}), each copy"
                f" with the same content under a new Message-ID; {RFC_MESSAGE_ID}: a"
                " retransmission is the same message and keeps its Message-ID, so a receiver"
                f" can drop the copies a dropped connection makes ({RFC_DUPLICATES}). Build"
                " the message once, before the retry loop."),
                {**evidence, "duplicates": {g.key: list(g.attempts)},
                 "message_ids": [m for m in g.message_ids if m]})
        return Result(name, "violation", "failed", (
            f"Message {g.key} was delivered {g.count} times (attempts {where}); the server had"
            f" accepted it with a 250 already. {RFC_DUPLICATES}: after a 2yz to the final dot"
            " the server is responsible; do not send it again."),
            {**evidence, "duplicates": {g.key: list(g.attempts)}})
    if expected == "once" and (left := _deferred_never_sent(timeline)):
        recipient, index, reply = left[0]
        return Result(name, "violation", "failed", (
            f"{recipient} never got the message: its RCPT TO was answered {reply!r} on"
            f" attempt {index} while other recipients were accepted, and no later"
            f" transaction gave it the message. {RFC_REST}: a 4yz is transient; send the"
            " message to the recipients left over in another transaction."),
            {**evidence, "recipients_left_over": [r for r, _, _ in left]})
    if any(_excused(g, gaps) for g in groups):
        return Result(name, "violation", "passed", (
            "Delivered once, plus one copy per connection dropped between storing and"
            " replying (see duplicate-risk)."), evidence)
    split = [g for g in groups if g.count > 1]
    if split:
        return Result(name, "violation", "passed", (
            f"Delivered once to each recipient: message {split[0].key} went to its"
            f" recipients in {split[0].count} transactions, none of them twice."), evidence)
    return Result(name, "violation", "passed", "The message was delivered exactly once.",
                  evidence)


def _deferred_never_sent(timeline: Timeline) -> list[tuple[str, int, str]]:
    """(recipient, attempt, reply) of each RCPT answered 4yz in a transaction whose other
    recipients were accepted, where no stored message lists that recipient."""
    stored = {r.lower() for m in timeline.messages for r in m.rcpt_tos}
    left: list[tuple[str, int, str]] = []
    for attempt in timeline.attempts:
        rcpt = [x for x in exchanges(attempt) if x.verb == "RCPT" and x.code is not None]
        if not any(x.code is not None and x.code // 100 == 2 for x in rcpt):
            continue
        for x in rcpt:
            recipient = address(x.argument.partition(":")[2])
            if (x.code is not None and x.code // 100 == 4 and recipient not in stored
                    and recipient not in [r for r, _, _ in left]):
                left.append((recipient, attempt.index, x.reply.text if x.reply else ""))
    return left


def duplicate_risk(timeline: Timeline) -> Result | None:
    """Advisory, only when the server stored a message the client never heard acknowledged."""
    gaps = unacknowledged(timeline)
    if not gaps:
        return None
    groups = group_copies(timeline.messages)
    evidence: dict[str, Any] = {"unacknowledged_attempts": gaps,
                                "copies": _copies_evidence(groups)}
    copied = [g for g in groups if g.count > 1]
    if copied:
        g = copied[0]
        renamed = (" under a new Message-ID each time, so the receiver cannot deduplicate"
                   " them" if g.new_ids else "")
        return Result("duplicate-risk", "advisory", "failed", (
            f"Message {g.key} was stored on attempt {g.attempts[0]} but the connection dropped"
            f" before the 250, and retries stored it again ({g.count} copies, attempts"
            f" {', '.join(map(str, g.attempts))}){renamed}: expected by {RFC_DUPLICATES}. To"
            " avoid it, surface 'delivery uncertain' instead of retrying, or keep the"
            " Message-ID and let the receiver deduplicate by it."), evidence)
    return Result("duplicate-risk", "advisory", "passed", (
        f"The connection dropped after the message was stored (attempt {gaps[0]}) and no"
        " copy of it, by Message-ID or by content, was stored again."), evidence)


def attempt_ending(attempt: Attempt) -> tuple[str, bool]:
    """How ``attempt`` ended, in words, and whether that was a transient failure."""
    if delivered_ok(attempt):
        return "delivered the message", False
    failure = failure_ns(attempt)
    if failure is not None:
        code = next((e.code for e in exchanges(attempt)
                     if e.code is not None and e.code // 100 in (4, 5)), None)
        if code is not None:
            return f"ended with reply {code}", code // 100 == 4
        return f"ended with {failure[1]}", True
    if attempt.end_ns is None or attempt.closed_by == "server-stop":
        return "was still open when the run ended", False
    return f"ended ({attempt.closed_by}) without a failure the server caused", False


def went_on(attempt: Attempt) -> str:
    """What ``attempt``, which delivered a message the scenario forbids, went on after."""
    failures = permanent_failures(attempt)
    if failures:
        first = failures[0]
        return f"it went on after {first.code} to {first.verb}, a permanent rejection"
    commands = [verb(e) for e in attempt.of_kind("command")]
    tls_events = [e for e in attempt.of_kind("tls")]
    handshakes = [e for e in tls_events if e.data.get("event") == "handshake"]
    if any(e.data.get("fault") == "strip-starttls" for e in attempt.faults):
        return "STARTTLS was stripped from the server's capabilities and it sent in cleartext"
    refused = [x for x in exchanges(attempt) if x.verb == "STARTTLS" and x.code not in (None, 220)]
    if refused:
        return (f"STARTTLS was answered {refused[0].code} and it went on in cleartext")
    accepted = next((e for e in handshakes if e.data.get("ok")), None)
    if accepted is not None:
        return (f"it completed the TLS handshake with certificate"
                f" {accepted.data.get('certificate', '?')!r} and sent the message")
    offered = any(e.data.get("starttls_offered") for e in tls_events)
    if offered and "STARTTLS" not in commands:
        return "it never issued STARTTLS, although the server offered it, and sent in cleartext"
    return "the scenario's situation did not stop it"


# -- attempts ---------------------------------------------------------------------------------


def attempts(timeline: Timeline, bounds: AttemptBounds) -> Result:
    """C2: at most ``max`` connections (violation: unbounded retries), at least ``min``
    (deviation: gave up or never retried a transient failure)."""
    count = len(timeline.attempts)
    evidence: dict[str, Any] = {"attempts": count, "min": bounds.min, "max": bounds.max}
    level: Level = "violation" if bounds.max is not None else "deviation"
    if not count:
        return Result("attempts", level, "skipped", NEVER_CONNECTED, evidence)
    if bounds.max is not None and count > bounds.max:
        return Result("attempts", "violation", "failed", (
            f"The client connected {count} times, more than the {bounds.max} allowed; bound"
            f" the retries (a maximum count or a give-up time, {RFC_RETRY}) and report a"
            " transient failure when they run out."), evidence)
    if bounds.min is not None and count < bounds.min:
        last = timeline.attempts[-1]
        ending, transient = attempt_ending(last)
        evidence["last_attempt_ended"] = ending
        if not transient:
            return Result("attempts", "deviation", "skipped", (
                f"The client connected {count} time(s), fewer than the {bounds.min} planned,"
                f" but its last attempt (attempt {last.index}) {ending}: nothing made it"
                " retry."), evidence)
        return Result("attempts", "deviation", "failed", (
            f"The client connected {count} time(s), fewer than the {bounds.min} expected; its"
            f" last attempt (attempt {last.index}) {ending} and it did not try again;"
            f" {RFC_CLASSES}: after a 4yz or a dropped connection the client SHOULD try"
            " again."), evidence)
    return Result("attempts", level, "passed", f"The client connected {count} time(s).",
                  evidence)


# -- no-retry-after-permanent (C10) --------------------------------------------------------


def permanent_failures(attempt: Attempt) -> list[Exchange]:
    """The 5yz replies of ``attempt`` that reject the whole message: to the greeting, MAIL,
    DATA, the final dot, to every RCPT of a transaction, or to AUTH when no later AUTH on
    the connection succeeded (a client may try another mechanism after a ``504``)."""
    found: list[Exchange] = []
    rcpt: list[Exchange] = []
    done = exchanges(attempt)
    logged_in = [i for i, e in enumerate(done) if e.verb == "AUTH" and e.code == 235]
    found += [e for i, e in enumerate(done) if e.verb == "AUTH" and e.code is not None
              and e.code // 100 == 5 and not any(j > i for j in logged_in)]
    for exchange in done:
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
            what = ("the same credentials again" if first.verb == "AUTH" else
                    "the message again")
            why = (f" {RFC_AUTH}: rejected credentials cannot succeed when sent again, and"
                   " every failed login counts towards the account's lockout."
                   if first.verb == "AUTH" else "")
            return Result(name, "deviation", "failed", (
                f"After {first.code} to {first.verb} on attempt {attempt.index} the client tried"
                f" {what} {where}; {RFC_CLASSES}: a 5yz is permanent, the client"
                f" SHOULD NOT repeat the request.{why} Report the failure instead of"
                " retrying."), evidence)
        return Result(name, "deviation", "passed", (
            f"After {first.code} to {first.verb} on attempt {attempt.index} the client stopped."),
            evidence)
    refused = _refused_recipients(timeline)
    if refused:
        return _no_retry_of_recipients(timeline, refused)
    return Result(name, "deviation", "skipped",
                  f"The server sent no permanent (5yz) rejection: {_why_no_rejection(timeline)}.")


def _refused_recipients(timeline: Timeline) -> list[tuple[int, Exchange]]:
    """(attempt, exchange) of every RCPT refused with a 5yz while others were accepted."""
    found = []
    for attempt in timeline.attempts:
        rcpt = [x for x in exchanges(attempt) if x.verb == "RCPT" and x.code is not None]
        if any(x.code // 100 == 2 for x in rcpt if x.code is not None):
            found += [(attempt.index, x) for x in rcpt if x.code is not None and x.code // 100 == 5]
    return found


def _no_retry_of_recipients(timeline: Timeline, refused: Sequence[tuple[int, Exchange]]) -> Result:
    """After a 5yz to one RCPT of several, that recipient is not given again."""
    name = "no-retry-after-permanent"
    index, first = refused[0]
    addresses = {address(x.argument.partition(":")[2]) for _, x in refused}
    after_ns = first.reply.t_ns if first.reply is not None else 0
    again = [f"#{a.index} {e.text}" for a in timeline.attempts for e in a.of_kind("command")
             if e.t_ns > after_ns and verb(e) == "RCPT"
             and address(e.text.partition(":")[2]) in addresses]
    evidence = {"attempt": index, "rejected": "RCPT", "code": first.code,
                "recipients": sorted(addresses), "given_again": again}
    if again:
        return Result(name, "deviation", "failed", (
            f"After {first.code} to {first.argument!r} on attempt {index} the client gave that"
            f" recipient again ({again[0]}); {RFC_CLASSES}: a 5yz is permanent, the client"
            " SHOULD NOT repeat the request."), evidence)
    return Result(name, "deviation", "passed", (
        f"After {first.code} to {first.argument!r} on attempt {index} (the other recipients"
        " accepted) the client did not give that recipient again."), evidence)


def _why_no_rejection(timeline: Timeline) -> str:
    """What the client did instead of meeting the scenario's permanent rejection."""
    if not timeline.attempts:
        return "the client never connected"
    rcpts = [[e.text for e in a.of_kind("command") if verb(e) == "RCPT"]
             for a in timeline.attempts]
    given = max(rcpts, key=len)
    if not given:
        return "the client sent no RCPT"
    if len(given) == 1:
        return f"only one recipient was given ({given[0]!r})"
    return f"every RCPT was accepted ({len(given)} recipients)"


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
        return Result(name, "violation", "skipped", "The server sent no 421." if
                      timeline.attempts else NEVER_CONNECTED)
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
        return Result(name, "violation", "skipped", NEVER_CONNECTED)
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


def client_exit(expected: ClientExit, code: int | None,
                timeline: Timeline | None = None) -> Result:
    """The exit status is how a command-line client reports the outcome to its caller.
    ``matches-delivery``: zero when the client heard a 250 for a stored message, non-zero
    when nothing was stored; either, when a copy was stored unacknowledged."""
    name = "client-exit"
    evidence: dict[str, Any] = {"expected": expected, "exit_code": code}
    if code is None:
        return Result(name, "violation", "skipped",
                      "The client's exit code is not known (it is not a process).", evidence)
    if expected == "matches-delivery":
        attempts = timeline.attempts if timeline is not None else ()
        heard = [a.index for a in attempts if delivered_ok(a)]
        stored = any(a.of_kind("message") for a in attempts)
        evidence["acknowledged_on"] = heard
        if heard and code != 0:
            return Result(name, "violation", "failed", (
                f"The client exited with {code} although its message was accepted with a 250"
                f" on attempt {heard[0]}; a caller that retries on that failure sends it"
                f" twice ({RFC_DUPLICATES})."), evidence)
        if not stored and code == 0:
            return Result(name, "violation", "failed", (
                "The client exited with 0 although no message was delivered; report a"
                f" failure (non-zero exit) so callers do not take it as sent ({RFC_CLASSES})."),
                evidence)
        outcome = "delivered" if heard else "did not deliver" if not stored else "was unsure"
        return Result(name, "violation", "passed",
                      f"The client exited with {code} and {outcome}: its exit tells the truth.",
                      evidence)
    if (code == 0) == (expected == "zero"):
        return Result(name, "violation", "passed", f"The client exited with {code}.", evidence)
    if expected == "zero":
        return Result(name, "violation", "failed", (
            f"The client exited with {code} although the scenario lets it succeed; check what"
            " it printed: it reported a failure the server did not cause for good."), evidence)
    return Result(name, "violation", "failed", (
        "The client exited with 0 although the message could not be delivered; report a"
        f" failure (non-zero exit) so callers do not take it as sent ({RFC_CLASSES})."), evidence)
