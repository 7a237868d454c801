"""What one scenario run produced, and what a set of them means for a gate.

A leaf for the reporters: a :class:`RunResult` is data (the scenario, its timeline, its
verdict, the client's side), and :func:`exit_code` is the one rule that turns results into
the exit code of ``harness run``, ``serve``, ``demo`` and ``merge``.

A scenario's outcome is *passed* only when what it exists to test happened and every
check held; *not exercised* when it did not happen (the client never connected, a planned
fault never fired, no TLS handshake was attempted, every key check had nothing to judge),
whatever the checks said; *interrupted* when the run was stopped before it ended.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.clients import ClientResult, Target
from harness.timeline import Timeline
from harness.verdicts import Verdict

if TYPE_CHECKING:
    from harness.model import Scenario

Outcome = Literal["passed", "failed", "not-exercised", "interrupted"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "not-exercised", "interrupted")

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_HARNESS, EXIT_NOT_EXERCISED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = {"SIGINT": 130, "SIGTERM": 143}
"""Exit codes of an interrupted run, by the signal that stopped it (128 + its number)."""


@dataclass(frozen=True)
class RunResult:
    """One scenario run: the timeline, the verdict, the client's side and the outcome.

    ``why`` says, in words from the timeline, why the scenario was not exercised (or
    where it was interrupted); ``time_limit_s`` is the limit the client got and
    ``time_limit_from`` where it came from (``scenario``, ``--timeout``, ``default``).
    """

    scenario: Scenario
    seed: int
    timeline: Timeline
    verdict: Verdict
    client: ClientResult
    target: Target
    duration_s: float
    why: tuple[str, ...] = ()
    interrupted: bool = False
    time_limit_s: float | None = None
    time_limit_from: str = "scenario"

    @property
    def outcome(self) -> Outcome:
        if self.interrupted:
            return "interrupted"
        if self.why:
            return "not-exercised"
        return "passed" if self.verdict.passed else "failed"

    @property
    def passed(self) -> bool:
        """True only when the scenario was exercised and every check held."""
        return self.outcome == "passed"

    @property
    def name(self) -> str:
        return self.scenario.name

    def to_dict(self) -> dict[str, Any]:
        """The JSON report of one scenario (docs/reports.md describes it)."""
        timeline = self.timeline.to_dict()
        return {
            "scenario": self.scenario.name,
            "about": self.scenario.about,
            "definition": self.scenario.to_dict(),
            "outcome": self.outcome,
            "passed": self.passed,
            "why_not_exercised": list(self.why),
            "seed": self.seed,
            "duration_s": round(self.duration_s, 6),
            "time_limit_s": self.time_limit_s,
            "time_limit_from": self.time_limit_from,
            "target": {"host": self.target.host, "port": self.target.port,
                       "tls": self.target.tls},
            "client": {
                "exit_code": self.client.exit_code,
                "timed_out": self.client.timed_out,
                "duration_s": round(self.client.duration_s, 6),
                "error": self.client.error,
                "stdout": self.client.stdout,
                "stderr": self.client.stderr,
            },
            "attempts": timeline["attempts"],
            "messages": timeline["messages"],
            **({"summarised": timeline["summarised"]} if "summarised" in timeline else {}),
            "expectations": [r.to_dict() for r in self.verdict.results],
            "calibration": self.verdict.calibration.to_dict(),
            "fitted_policy": self.verdict.fitted.to_dict() if self.verdict.fitted else None,
        }


def counts(outcomes: Iterable[str]) -> dict[str, int]:
    """How many scenarios ended each way, every outcome present (zeros included)."""
    tally: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for outcome in outcomes:
        tally[outcome] = tally.get(outcome, 0) + 1
    return tally


def exit_code(
    outcomes: Iterable[tuple[str, str]],
    *,
    accept_not_exercised: Collection[str] = (),
    interrupted_by: str | None = None,
) -> int:
    """The gate's exit code for ``(scenario name, outcome)`` pairs.

    Interrupted: 130 (SIGINT) or 143 (SIGTERM). Otherwise 1 when any scenario failed, 4
    when none failed but one was not exercised (unless its name, or ``all``, is in
    ``accept_not_exercised``: a team that knows its client cannot take part in it), and 0
    when every scenario passed.
    """
    if interrupted_by is not None:
        return EXIT_INTERRUPTED.get(interrupted_by, 130)
    pairs = list(outcomes)
    if any(outcome == "failed" for _, outcome in pairs):
        return EXIT_FAILED
    if any(outcome == "interrupted" for _, outcome in pairs):
        return EXIT_INTERRUPTED["SIGINT"]
    if any(outcome == "not-exercised" and not accepted(name, accept_not_exercised)
           for name, outcome in pairs):
        return EXIT_NOT_EXERCISED
    return EXIT_PASSED


def accepted(name: str, accept_not_exercised: Collection[str]) -> bool:
    """True when a not-exercised ``name`` is one the run was told to accept."""
    return "all" in accept_not_exercised or name in accept_not_exercised
