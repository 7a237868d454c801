"""C9, amplification: the connections one message costs stay within the declared budget.

A library retries, and the application around it retries too: three layers of three
tries make 27 connections for one message (Google SRE book, ch. 22, "Addressing Cascading
Failures": retry at one layer only, and budget retries). The scenario declares how many
connections one message may take, all retry layers together (``attempt-budget: N``).

The timeline cannot tell which message a refused connection was for, so connections are
counted per *series*: the attempts up to and including one that delivered (message
stored, 2yz heard), and the attempts after the last delivery. One client sending its
messages one after another spends one series per message; a series longer than the
budget is a message that cost too much. With several client instances their series
interleave, so only the total is judged: at most ``budget x messages`` connections.
"""

from __future__ import annotations

from typing import Any

from harness.timeline import Timeline
from harness.verdicts.delays import delivered_ok
from harness.verdicts.result import Result
from harness.verdicts.spec import Level

NAME = "attempt-budget"
SOURCE = "Google SRE book ch. 22 (retry amplification across layers)"


def series(timeline: Timeline) -> list[list[int]]:
    """The attempts of each message in turn: each series ends with the attempt that
    delivered; the last one may end without a delivery (the client gave up)."""
    found: list[list[int]] = [[]]
    for attempt in timeline.by_index():
        found[-1].append(attempt.index)
        if delivered_ok(attempt):
            found.append([])
    return [s for s in found if s]


def attempt_budget(timeline: Timeline, budget: int, messages: int = 1, clients: int = 1
                   ) -> Result:
    """``attempt-budget`` over ``timeline``, for ``messages`` messages from each of
    ``clients`` client instances (see the module's docstring)."""
    level: Level = "deviation"
    total = len(timeline.attempts)
    if not total:
        return Result(NAME, level, "skipped",
                      "The client never connected: nothing to judge.")
    allowed = budget * messages * clients
    evidence: dict[str, Any] = {"budget": budget, "messages": messages * clients,
                                "attempts": total, "allowed": allowed}
    if clients == 1:
        runs = series(timeline)
        evidence["series"] = [[s[0], s[-1]] for s in runs]
        over = [s for s in runs if len(s) > budget]
        if over:
            worst = max(over, key=len)
            return Result(NAME, level, "failed", (
                f"One message cost {len(worst)} connections (attempts {worst[0]}-{worst[-1]}),"
                f" over the budget of {budget} for all retry layers together: retries"
                " multiply when the application retries a library that retries too. Retry"
                f" at one layer only, and count every connection against one budget ({SOURCE})."
            ), evidence)
    if total > allowed:
        return Result(NAME, level, "failed", (
            f"{total} connections for {messages * clients} message(s), over the budget of"
            f" {budget} each ({allowed} in all): retries multiply across layers. Retry at one"
            f" layer only ({SOURCE})."), evidence)
    return Result(NAME, level, "passed", (
        f"{total} connection(s) for {messages * clients} message(s), within the budget of"
        f" {budget} each."), evidence)
