"""The TLS expectations, read from the timeline's generic events.

The TLS layer records ``tls`` events with ``data={"event": "handshake", "ok": bool,
"error": str}`` and marks each command with ``data={"tls": bool}``; a command without the
mark counts as encrypted only after a successful handshake on its attempt. An injection
after STARTTLS is a ``fault`` event with ``data["fault"] == "inject-after-starttls"``, or
a ``tls`` event with ``data["event"] == "injected"``; its text (or ``data["lines"]``)
holds the injected lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.timeline import Attempt, Event, Timeline
from harness.tls.variants import VARIANTS
from harness.verdicts.exchanges import exchanges, verb
from harness.verdicts.result import Result
from harness.verdicts.spec import Level

RFC_CERT = "RFC 8314 §5"
RFC_STARTTLS = "RFC 3207 §4.2"
_SENDS_MAIL = frozenset({"AUTH", "MAIL", "RCPT", "DATA", "BDAT"})
_PIPELINABLE = frozenset({"MAIL", "RCPT", "RSET"})  # RFC 2920 §3.1


def _handshake(event: Event) -> bool | None:
    """True/False for a handshake event's outcome, None for any other event."""
    if event.kind == "tls" and event.data.get("event") == "handshake":
        return bool(event.data.get("ok"))
    return None


def _commands(attempt: Attempt) -> Iterator[tuple[Event, bool]]:
    """Each command of ``attempt`` with whether it travelled encrypted."""
    secured = False
    for event in attempt.events:
        outcome = _handshake(event)
        if outcome is not None:
            secured = outcome
        elif event.kind == "command":
            yield event, bool(event.data["tls"]) if "tls" in event.data else secured


def _tls_failure(attempt: Attempt) -> tuple[Event, str] | None:
    """The first failure to secure ``attempt``, and what it was: a failed handshake, a
    STARTTLS refused, STARTTLS stripped from the capabilities, or EHLO refused before TLS
    (no capabilities, so no STARTTLS on offer: RFC 3207 §4 advertises it only there)."""
    starttls_refused = [x.reply for x in exchanges(attempt)
                        if x.verb == "STARTTLS" and x.reply is not None and x.code != 220]
    ehlo_refused = [x.reply for x in exchanges(attempt) if x.verb == "EHLO"
                    and x.reply is not None and x.code is not None and x.code // 100 != 2]
    secured = False
    for event in attempt.events:
        outcome = _handshake(event)
        if outcome is False and _client_hello(event):
            return event, _describe(event)
        secured = secured or bool(outcome)
        first_line = event.text.splitlines()[0] if event.text else ""
        if event in starttls_refused:
            return event, f"STARTTLS answered {first_line!r}"
        if event in ehlo_refused and not secured:
            return event, f"EHLO answered {first_line!r}, so no STARTTLS was offered"
        if event.kind == "fault" and event.data.get("fault") == "strip-starttls":
            return event, "STARTTLS stripped from the capabilities"
    return None


def refuses_bad_certificate(timeline: Timeline, opportunistic: bool = False) -> Result:
    """No AUTH, MAIL, RCPT, DATA or message content after accepting a certificate that
    must not validate (the scenario serves one): RFC 8314 §5.3. A refusal counts only
    where a ClientHello arrived: a client that never started TLS refused nothing.

    The level is the certificate's (``deviation`` for weak cryptography, see
    ``docs/certificates.md``); for an ``opportunistic`` client (an MTA without a TLS
    policy, RFC 7435) an acceptance is reported as advisory, with the same evidence.
    """
    name = "refuses-bad-certificate"
    handshakes = [(a, e) for a in timeline.attempts for e in a.events if _handshake(e) is not None]
    reached = [(a, e) for a, e in handshakes if _client_hello(e)]
    if not reached:
        return Result(name, "violation", "skipped", _why_no_client_hello(timeline, handshakes))
    for attempt, event in reached:
        if not _handshake(event):
            continue
        went_on = [e.text for e in attempt.events if e.t_ns >= event.t_ns and (
            (e.kind == "command" and verb(e) in _SENDS_MAIL) or e.kind == "data")]
        if went_on:
            certificate = str(event.data.get("certificate", ""))
            level = "advisory" if opportunistic else _certificate_level(certificate)
            detail = (
                f"On attempt {attempt.index} the client accepted {_weakness(event)} and went on"
                f" with {went_on[0]!r}; {RFC_CERT}: a session whose certificate cannot be"
                " validated MUST NOT count as confidential. Verify the chain, the host name"
                " and the protocol version, and abort.")
            if opportunistic:
                detail += (" Reported as advisory: the client is declared opportunistic"
                           " (RFC 7435), which may deliver over an unauthenticated channel.")
            return Result(name, level, "failed", detail, {
                "attempt": attempt.index, "after_handshake": went_on,
                "certificate": certificate, "version": event.data.get("version"),
                "opportunistic": opportunistic})
    accepted = [a.index for a, e in reached if _handshake(e)]
    refused = next((e for _, e in reached if not _handshake(e)), None)
    how = (f" (it completed the handshake on attempts {accepted} and then stopped)."
           if accepted else f" (it refused the handshake: {_describe(refused)})."
           if refused is not None else ".")
    return Result(name, "violation", "passed",
                  "The client sent no credentials or mail over the bad certificate" + how,
                  {"handshakes": len(reached), "accepted_then_stopped": accepted})


def _client_hello(event: Event) -> bool:
    """True when the client got as far as a ClientHello on this handshake. Timelines
    from before the ``client_hello`` fact count every failed handshake as reached."""
    if _handshake(event):
        return True
    return bool(event.data.get("client_hello", event.data.get("outcome") != "plaintext"))


def _why_no_client_hello(timeline: Timeline, handshakes: list[tuple[Attempt, Event]]) -> str:
    """Why no TLS handshake reached the certificate, from the timeline."""
    if not timeline.attempts:
        return "The client never connected: nothing to judge."
    commands = {verb(e) for a in timeline.attempts for e in a.of_kind("command")}
    offered = any(e.data.get("starttls_offered") for a in timeline.attempts
                  for e in a.of_kind("tls"))
    if not handshakes and offered and "STARTTLS" not in commands:
        return ("The client never issued STARTTLS, although the server offered it: it never"
                " reached the certificate.")
    sent = next((str(e.data["first_bytes"]) for _, e in handshakes if e.data.get("first_bytes")),
                None)
    if sent:
        return (f"No ClientHello arrived: the client never started TLS; it sent {sent!r} in"
                " plaintext.")
    return "No ClientHello arrived: the client never started TLS."


def _certificate_level(name: str) -> Level:
    """How much accepting certificate ``name`` weighs, as the catalogue documents it."""
    variant = VARIANTS.get(name)
    return variant.level if variant is not None else "violation"


def _weakness(event: Event) -> str:
    """What was wrong with the session the client accepted, in the catalogue's words."""
    name = str(event.data.get("certificate", ""))
    variant = VARIANTS.get(name)
    version = event.data.get("version")
    what = (variant.description.split("\n", 1)[0].rstrip(".") if variant is not None
            else "a certificate that must not validate")
    negotiated = f", negotiated {version}" if version else ""
    return f"certificate {name!r} ({what}{negotiated})" if name else what + negotiated


def no_plaintext_fallback(timeline: Timeline) -> Result:
    """After TLS failed on an attempt (or EHLO was refused, so STARTTLS was never
    offered), no AUTH or MAIL in cleartext, on that attempt or any later one: a
    TLS-requiring client retries over TLS, tries STARTTLS anyway, or stops (RFC 3207 §4,
    RFC 8314 §5). Mail sent over a TLS session it secured after all is safe."""
    name = "no-plaintext-fallback"
    failed_at: tuple[int, Event, str] | None = None
    for attempt in timeline.attempts:
        failure = _tls_failure(attempt)
        if failed_at is None and failure is not None:
            failed_at = (attempt.index, *failure)
        if failed_at is None:
            continue
        clear = [e.text for e, secure in _commands(attempt)
                 if not secure and verb(e) in _SENDS_MAIL and e.t_ns > failed_at[1].t_ns]
        if clear:
            return Result(name, "violation", "failed", (
                f"After TLS failed on attempt {failed_at[0]} ({failed_at[2]}) the client sent"
                f" {clear[0]!r} in cleartext on attempt {attempt.index}; RFC 8314 §5 and"
                " RFC 3207 §4: a client that requires TLS must not continue without it."
                " Abort, or retry later over TLS."),
                {"tls_failed_on": failed_at[0], "attempt": attempt.index, "cleartext": clear})
    if failed_at is None:
        handshakes = [(a, e) for a in timeline.attempts for e in a.events
                      if _handshake(e) is False]
        return Result(name, "violation", "skipped", (
            _why_no_client_hello(timeline, handshakes) if handshakes or not timeline.attempts
            else "TLS never failed: nothing to fall back from."))
    secured_after = [a.index for a in timeline.attempts if a.index >= failed_at[0] and any(
        _handshake(e) for e in a.events if e.t_ns > failed_at[1].t_ns)]
    how = (f"; it secured TLS after all on attempt {secured_after[0]}"
           if secured_after else "")
    return Result(name, "violation", "passed", (
        f"After TLS failed on attempt {failed_at[0]} ({failed_at[2]}) the client sent no AUTH"
        f" or mail in cleartext{how}."),
        {"tls_failed_on": failed_at[0], "secured_after_on": secured_after})


def _describe(event: Event | None) -> str:
    if event is None:
        return "no reason recorded"
    return f"handshake failed: {event.data.get('error') or 'no reason recorded'}"


def no_plaintext_auth(timeline: Timeline) -> Result:
    """No AUTH command ever travels unencrypted (RFC 8314 §5; RFC 4954 §4)."""
    name = "no-plaintext-auth"
    for attempt in timeline.attempts:
        for event, secure in _commands(attempt):
            if verb(event) == "AUTH" and not secure:
                mechanism = event.text.split()[1] if len(event.text.split()) > 1 else ""
                return Result(name, "violation", "failed", (
                    f"On attempt {attempt.index} the client sent AUTH {mechanism} in cleartext;"
                    f" {RFC_CERT}: credentials only over TLS. Require STARTTLS (or implicit"
                    " TLS) before authenticating."),
                    {"attempt": attempt.index, "command": f"AUTH {mechanism}".strip()})
    if not any(verb(e) == "AUTH" for a in timeline.attempts for e in a.of_kind("command")):
        return Result(name, "violation", "skipped", "No AUTH was sent: nothing to judge.")
    return Result(name, "violation", "passed", "Every AUTH command travelled over TLS.")


def discards_injected_responses(timeline: Timeline) -> Result:
    """After replies were injected with ``220 Ready to start TLS``, the client neither
    reads them as answers (it never sends a command while its previous one is still
    unanswered) nor uses what they advertised (CVE-2011-0411, RFC 3207 §4.2)."""
    name = "discards-injected-responses"
    injected_on = []
    for attempt in timeline.attempts:
        injection = next((e for e in attempt.events if _is_injection(e)), None)
        if injection is None:
            continue
        injected_on.append(attempt.index)
        evidence: dict[str, Any] = {"attempt": attempt.index,
                                    "injected": _injected_lines(injection)}
        desync = _answered_early(attempt, injection.t_ns)
        if desync:
            return Result(name, "violation", "failed", (
                f"On attempt {attempt.index} the client sent {desync!r} before the server"
                " answered its previous command: it took the plaintext lines injected after"
                f" STARTTLS as replies. {RFC_STARTTLS} and CVE-2011-0411: discard buffered"
                " input when TLS starts, then send EHLO and wait for its reply."),
                {**evidence, "sent_early": desync})
        used = _uses_injected(attempt, injection)
        if used:
            return Result(name, "violation", "failed", (
                f"On attempt {attempt.index} the client sent {used!r}, using a capability only"
                f" the injected plaintext advertised; {RFC_STARTTLS}: discard everything learnt"
                " before TLS and use only the post-TLS EHLO reply."), {**evidence, "used": used})
    if not injected_on:
        return Result(name, "violation", "skipped", (
            "No response was injected after STARTTLS: " + _why_no_starttls(timeline)))
    secured = [a.index for a in timeline.attempts if a.index in injected_on
               and any(_handshake(e) for e in a.events)]
    how = ("ignored the injected replies" if secured else
           "ended the session without using them (it never completed the handshake)")
    return Result(name, "violation", "passed", f"The client {how} (attempts {injected_on}).",
                  {"attempts": injected_on, "secured": secured})


def _why_no_starttls(timeline: Timeline) -> str:
    if not timeline.attempts:
        return "the client never connected."
    if not any(verb(e) == "STARTTLS" for a in timeline.attempts for e in a.of_kind("command")):
        return "the client never issued STARTTLS."
    return "the STARTTLS the client issued was not answered with 220."


def _is_injection(event: Event) -> bool:
    return (event.kind == "fault" and event.data.get("fault") == "inject-after-starttls") or (
        event.kind == "tls" and event.data.get("event") == "injected")


def _injected_lines(event: Event) -> list[str]:
    lines = event.data.get("lines")
    if isinstance(lines, (list, tuple)):
        return [str(line) for line in lines]
    return event.text.splitlines()


def _answered_early(attempt: Attempt, after_ns: int) -> str | None:
    """The first command sent after ``after_ns`` while an earlier one that may not be
    pipelined was still unanswered."""
    owed: list[str] = []
    secured = False
    for event in attempt.events:
        if _handshake(event):
            secured = True
        if not secured or event.t_ns < after_ns:
            continue
        if event.kind == "command":
            if any(v not in _PIPELINABLE for v in owed):
                return event.text
            owed.append(verb(event))
        elif event.kind == "data":
            owed.append("DOT")
        elif event.kind == "reply" and owed:
            owed.pop(0)
    return None


def _uses_injected(attempt: Attempt, injection: Event) -> str | None:
    """A post-TLS command naming a keyword only the injected lines offered."""
    offered = {word.upper() for line in _injected_lines(injection) for word in line[4:].split()}
    genuine: set[str] = set()
    secured = False
    for event in attempt.events:
        if _handshake(event):
            secured = True
        if not secured:
            continue
        if event.kind == "reply":
            genuine |= {w.upper() for line in event.text.splitlines() for w in line[4:].split()}
        elif event.kind == "command":
            for word in event.text.split()[1:]:
                if word.upper() in offered - genuine:
                    return event.text
    return None


def re_ehlo_after_starttls(timeline: Timeline) -> Result:
    """After a successful STARTTLS handshake the first command is EHLO (or HELO), or a
    QUIT from a client that finds the session insufficient: RFC 3207 §4.2 SHOULD."""
    name = "re-ehlo-after-starttls"
    checked = []
    for attempt in timeline.attempts:
        started = any(verb(e) == "STARTTLS" for e in attempt.of_kind("command"))
        handshake = next((e for e in attempt.events if _handshake(e)), None)
        if not started or handshake is None:
            continue
        checked.append(attempt.index)
        first = next((e for e in attempt.of_kind("command") if e.t_ns >= handshake.t_ns), None)
        if first is not None and verb(first) not in ("EHLO", "HELO", "QUIT"):
            return Result(name, "deviation", "failed", (
                f"After STARTTLS on attempt {attempt.index} the client's first command was"
                f" {first.text!r}; {RFC_STARTTLS}: the session is reset, the client MUST"
                " forget the earlier capabilities and SHOULD send EHLO first."),
                {"attempt": attempt.index, "first_command": first.text})
    if not checked:
        return Result(name, "deviation", "skipped", "No STARTTLS handshake succeeded: " + (
            _why_no_starttls(timeline) if not any(_handshake(e) is False for a in
                                                   timeline.attempts for e in a.events)
            else "every handshake failed."))
    return Result(name, "deviation", "passed",
                  f"The client sent EHLO again after STARTTLS (attempts {checked}).",
                  {"attempts": checked})


def waits_for_ehlo_after_starttls(timeline: Timeline) -> Result:
    """After a successful STARTTLS handshake the client sends no AUTH, MAIL, RCPT, DATA
    or BDAT before the reply to its EHLO: RFC 3207 §4.2, the capabilities learnt before
    TLS are void and that reply is the only list the client may use. Greeting again (HELO
    after a timed-out EHLO) or QUIT uses no capability. Judged where an EHLO after
    STARTTLS went unanswered (a server that ignores it) or was overtaken by a mail
    command."""
    name = "waits-for-ehlo-after-starttls"
    unanswered: list[int] = []
    for attempt in timeline.attempts:
        handshake = next((e for e in attempt.events if _handshake(e)), None)
        if handshake is None or not any(
                verb(e) == "STARTTLS" for e in attempt.of_kind("command")):
            continue
        after = [e for e in attempt.events
                 if e.t_ns >= handshake.t_ns and e.kind in ("command", "reply")]
        ehlo = next((i for i, e in enumerate(after)
                     if e.kind == "command" and verb(e) in ("EHLO", "HELO")), None)
        if ehlo is None:
            continue
        following = after[ehlo + 1:]
        answer = next((i for i, e in enumerate(following) if e.kind == "reply"), len(following))
        went_on = [e.text for e in following[:answer] if verb(e) in _SENDS_MAIL]
        if went_on:
            return Result(name, "violation", "failed", (
                f"On attempt {attempt.index} the client sent {went_on[0]!r} while its EHLO"
                " after STARTTLS was still unanswered: it went on with the capabilities"
                f" learnt before TLS. {RFC_STARTTLS}: those are void; wait for the reply to"
                " the EHLO sent over TLS (a per-command timeout ends the wait), then retry"
                " or report a failure."),
                {"attempt": attempt.index, "sent_unanswered": went_on})
        if answer == len(following):
            unanswered.append(attempt.index)
    if not unanswered:
        return Result(name, "violation", "skipped", (
            "No EHLO after STARTTLS went unanswered: nothing showed whether the client"
            " waits for it."))
    return Result(name, "violation", "passed", (
        f"The client sent no AUTH or mail command while its EHLO after STARTTLS went"
        f" unanswered (attempts {unanswered})."), {"unanswered_attempts": unanswered})
