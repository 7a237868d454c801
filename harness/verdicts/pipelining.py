"""T08: nothing after STARTTLS until the TLS handshake.

STARTTLS must be the last command of a pipelined group (RFC 2920 §3.1), and a client
that writes more after it hands a man in the middle bytes to answer in clear, the mirror
of the server bug CVE-2011-0411 fixed (RFC 3207 §4.2: everything before TLS is
discarded). The server records, as the handshake starts, how many bytes the client had
sent after ``STARTTLS\\r\\n`` (``pipelined_bytes`` of the ``handshake-start`` event), and,
when the client sent plaintext where a ClientHello belongs, a failed handshake with
outcome ``plaintext``.
"""

from __future__ import annotations

from typing import Any

from harness.timeline import Timeline
from harness.verdicts.result import Result
from harness.verdicts.spec import Level

NAME = "no-pipelining-after-starttls"
RFC = "RFC 2920 §3.1, RFC 3207 §4.2"


def no_pipelining_after_starttls(timeline: Timeline) -> Result:
    """Failed when any STARTTLS handshake started with bytes already sent after the
    command, or met plaintext instead of a ClientHello; skipped without STARTTLS."""
    level: Level = "violation"
    started: list[int] = []
    early: list[dict[str, Any]] = []
    for attempt in timeline.attempts:
        for event in attempt.of_kind("tls"):
            data = event.data
            if data.get("event") == "handshake-start" and data.get("mode") == "starttls":
                started.append(attempt.index)
                if int(data.get("pipelined_bytes") or 0) > 0:
                    early.append({"attempt": attempt.index,
                                  "bytes": int(data["pipelined_bytes"])})
            elif (data.get("event") == "handshake" and not data.get("ok")
                  and data.get("outcome") == "plaintext" and attempt.index in started):
                early.append({"attempt": attempt.index,
                              "first_bytes": str(data.get("first_bytes", ""))})
    if not started:
        return Result(NAME, level, "skipped", (
            "No STARTTLS handshake started: nothing was sent after STARTTLS to judge."))
    evidence = {"handshakes": started, "sent_after_starttls": early}
    if early:
        first = early[0]
        what = (f"{first['bytes']} byte(s)" if "bytes" in first
                else f"plaintext ({first['first_bytes']!r}) instead of a ClientHello")
        return Result(NAME, level, "failed", (
            f"On attempt {first['attempt']} the client sent {what} after STARTTLS, before"
            f" the TLS handshake; {RFC}: STARTTLS ends a pipelined group, and nothing may"
            " follow it until TLS is up. Wait for the 220, then start the handshake."),
            evidence)
    return Result(NAME, level, "passed", (
        f"The client sent nothing after STARTTLS before the handshake"
        f" ({len(started)} handshake(s))."), evidence)
