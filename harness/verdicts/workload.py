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


def every_message(timeline: Timeline, delivered: Delivered, asked: int,
                  refused: int = 0) -> Result:
    """``delivered.all``: the distinct messages stored against the ``asked`` count, less
    the ``refused`` ones the server turns down for good (RFC 5321 §4.5.4.1: a 5yz to one
    message's MAIL is not cached for the next)."""
    expected = asked - refused
    distinct = asked_for(group_copies(timeline.messages), asked)
    evidence = {"expected": expected, "distinct": len(distinct),
                "stored": len(timeline.messages), "refused": refused}
    if delivered == "never":
        ok = not distinct
        detail = ("No message was delivered, as expected." if ok else
                  f"{len(distinct)} of the {expected} messages were delivered, though the"
                  " server refused them for good.")
    elif len(distinct) == expected:
        ok, detail = True, (f"All {expected} distinct messages were delivered." if not refused
                            else f"The {expected} distinct messages the server accepts were"
                            f" delivered, and the one(s) it refused for good ({refused}) were"
                            " not sent again.")
    elif refused and len(distinct) < expected:
        ok = False
        detail = (f"Of the {expected} messages the server would accept, {len(distinct)}"
                  f" arrived (besides the {refused} it refused for good): a 5yz is about"
                  " one message, and the next must still be tried (RFC 5321 §4.5.4.1: \"5yz"
                  " responses to the MAIL command MUST NOT be cached\").")
    elif refused:
        ok = False
        detail = (f"{len(distinct)} distinct messages arrived, more than the {expected} the"
                  f" server accepts: a message it refused for good (a 5yz) was sent again"
                  " and got through (RFC 5321 §4.2.1: do not repeat the request).")
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

