"""Many messages: every distinct message the scenario asked for arrived, as often as expected.

``delivered`` judges copies; this judges the set. A workload of N messages (from K client
instances) passes only when N distinct messages arrived: one lost in a dropped pooled
connection, or reported as sent after a ``421`` on an idle connection, is a failure even
when every message that did arrive arrived once (RFC 5321 §4.5.4.1, §6.1: a message
accepted for delivery is the client's to deliver, once).
"""

from __future__ import annotations

from harness.timeline import Timeline
from harness.verdicts.checks import asked_for
from harness.verdicts.copies import group_copies
from harness.verdicts.result import Result
from harness.verdicts.spec import Delivered


def every_message(timeline: Timeline, delivered: Delivered, expected: int) -> Result:
    """``delivered.all``: the distinct messages stored against the ``expected`` count."""
    distinct = asked_for(group_copies(timeline.messages), expected)
    evidence = {"expected": expected, "distinct": len(distinct),
                "stored": len(timeline.messages)}
    if delivered == "never":
        ok = not distinct
        detail = ("No message was delivered, as expected." if ok else
                  f"{len(distinct)} of the {expected} messages were delivered, though the"
                  " server refused them for good.")
    elif len(distinct) == expected:
        ok, detail = True, f"All {expected} distinct messages were delivered."
    else:
        ok = False
        missing = expected - len(distinct)
        detail = (f"{len(distinct)} of the {expected} distinct messages were delivered:"
                  f" {missing} lost. A message the client reported as sent must reach the"
                  " server: after a dropped or idle-closed connection, reconnect and send it"
                  " again (RFC 5321 §4.5.4.1)." if missing > 0 else
                  f"{len(distinct)} distinct messages arrived, more than the {expected}"
                  " asked for: the client sent messages that were never asked for.")
    return Result("delivered.all", "violation", "passed" if ok else "failed", detail, evidence)

