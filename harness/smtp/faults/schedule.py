"""A FaultSchedule: the faults of a run, their per-run state, and the seeded draws."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable
from typing import Any

from harness.attempts import Phase
from harness.errors import InvalidFaultPlan
from harness.smtp.faults.base import CONTINUES, Action, Fault, FaultContext


class FaultSchedule:
    """The ordered faults of a run.

    At a phase, faults are consulted in order: pauses and capability edits add up, and the
    first fault that takes over (a reply, a close, a hang...) ends the consultation. Every
    probability draw comes from ``random.Random(seed, fault, attempt, phase)``, so a seed
    replays the same faults whatever the interleaving of connections.
    """

    def __init__(self, faults: Iterable[Fault] = (), *, seed: int | None = None) -> None:
        self.faults: tuple[Fault, ...] = tuple(faults)
        for index, fault in enumerate(self.faults):
            if not isinstance(fault, Fault):
                raise InvalidFaultPlan(
                    f"faults[{index}] is {fault!r}, not a fault; build faults with"
                    " harness.faults (Reply, Delay, Close, Reset, Hang, Greylist, ...)"
                )
        self.seed: int = secrets.randbits(64) if seed is None else seed
        self._states: list[dict[Any, Any]] = [{} for _ in self.faults]
        self._phases = frozenset(fault.at for fault in self.faults)

    def __repr__(self) -> str:
        return f"FaultSchedule({list(self.faults)!r}, seed={self.seed})"

    def has(self, phase: Phase) -> bool:
        return phase in self._phases

    def consult(self, ctx: FaultContext, *, every: bool = False) -> list[tuple[Fault, Action]]:
        """The faults that fire in ``ctx`` with their actions, in schedule order.

        With ``every``, keep going past the first fault that takes over (the ``body``
        phase fires each fault at its own byte offset).
        """
        fired: list[tuple[Fault, Action]] = []
        for index, fault in enumerate(self.faults):
            if fault.at != ctx.phase:
                continue
            ctx.state = self._states[index]
            if fault.probability < 1.0:
                ctx.random = random.Random(f"{self.seed}:{index}:{ctx.attempt}:{ctx.phase}")
            if not fault.selects(ctx):
                continue
            action = fault.act(ctx)
            if action is None:
                continue
            fired.append((fault, action))
            if not every and not isinstance(action, CONTINUES):
                break
        return fired

    def reset(self) -> None:
        """Forget the state of stateful faults (greylist first-seen times and so on)."""
        for state in self._states:
            state.clear()
