"""``gather``: hold connections until the next tick of a clock, so they go on together.

A herd needs a common instant: K clients started one after another connect over a second
or more, but an outage ends for all of them at once. ``gather: S`` holds each selected
connection at its phase until the next tick, every ``S`` seconds from the first
connection it held, then lets the next fault (a ``421`` reply, say) answer them all at
that instant. Retries that arrive within a period are gathered again at the next tick,
so a fleet that keeps retrying meets the server together at every tick: what the
``herd-disperses`` check (C6) needs. Keep ``S`` under the client's command timeout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.attempts import Phase
from harness.smtp.faults.base import Action, Fault, FaultContext, Pause
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class Gather(Fault):
    """Hold the reply until the next tick, every ``every_s`` seconds from the first
    connection held; then carry on (the next fault at the phase answers)."""

    every_s: float = setting(
        "seconds", "The period of the ticks that release the held connections together"
        " (0: no hold).",
        unit="seconds")
    at: Phase = "banner"

    kind = "gather"
    phases = ("banner", "ehlo", "mail", "rcpt", "data", "dot")
    rfc = "gRPC connection-backoff (backoffs started together must disperse)"

    def act(self, ctx: FaultContext) -> Action:
        if not self.every_s:  # no clock: nothing to wait for
            return Pause(0.0)
        first = float(ctx.state.setdefault("first", ctx.now))
        ticks = max(1, math.ceil((ctx.now - first) / self.every_s + 1e-9))
        return Pause(first + ticks * self.every_s - ctx.now)

    def describe(self) -> str:
        return f"gather every {self.every_s:g}s"
