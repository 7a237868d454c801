"""C8, reset after success: a new failure after a delivery starts at the initial delay.

gRPC's connection-backoff: "The back off should be reset to INITIAL_BACKOFF" once a
connection succeeds. A client that keeps its grown delay after a success waits minutes
for a hiccup an hour later, and one that shares a grown delay across messages starves
the next message.

Retries are numbered within a series of consecutive failures (``harness.verdicts.delays``):
a delivery ends a series. The first three retries of every later series are held against
the delays of retries 1 to 3:

- a declared policy (``backoff: {initial_s, ...}``): its envelopes ``E_1`` to ``E_3``;
- no declared policy, and the first series looks deterministic (the fitted policy's
  jitter guess is ``none``): the first series' own first three delays;
- otherwise the fitted envelopes, and a breach is only ever inconclusive (a jittered
  client's single draws prove nothing).

Each is an upper bound with the calibrated slack and the noise band of
``Calibration.upper_status``, and the client's reaction time allowed, as in
``backoff.envelope``. Where the noise dominates a bound (it is under 20 times the
measured noise), a wait beyond it is undecided unless it lies more than four slacks past
it (``max(3q, 50 ms) + 10 %`` each): the waits of a client that kept its grown delay. The
check fails only when two of them break their bound: one late retry alone is a machine
stall as often as the client's doing. Three, not two: the first bound of a fast policy
(0.1 s) is often within a loaded machine's noise, and then undecided.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from harness.timeline import Timeline
from harness.verdicts.backoff import CORROBORATION, envelope_s, reaction_s, support_s
from harness.verdicts.calibration import Calibration
from harness.verdicts.delays import Retry, retries
from harness.verdicts.fitted import fit_policy
from harness.verdicts.result import Result, Status, ms
from harness.verdicts.spec import BackoffPolicy, Level

NAME = "resets-backoff"
SOURCE = "gRPC connection-backoff, \"Reset Backoff\""
JUDGED = 3  # the first three retries of a later series
#: Slacks past a bound beyond which a wait is the client's, however short the bound.
FAR = 4


def split_series(found: Sequence[Retry]) -> list[list[Retry]]:
    """The retries of each series of consecutive failures, in order."""
    runs: list[list[Retry]] = []
    for r in found:
        if r.n == 1 or not runs:
            runs.append([])
        runs[-1].append(r)
    return runs


def resets_backoff(
    timeline: Timeline,
    policy: BackoffPolicy | Literal["increasing"] | None,
    calibration: Calibration,
) -> Result:
    """C8 over ``timeline`` (see the module's docstring)."""
    level: Level = "deviation"
    runs = split_series(retries(timeline))
    if len(runs) < 2:
        return Result(NAME, level, "skipped", (
            "No failure followed a delivery after earlier retries: no backoff to reset."))
    first, later = runs[0], runs[1:]
    declared = policy if isinstance(policy, BackoffPolicy) else None
    fitted = fit_policy(first) if declared is None else None
    deterministic = fitted is not None and fitted.jitter == "none"
    bounds: list[float] = []
    for n in range(1, JUDGED + 1):
        if declared is not None:
            bounds.append(support_s(declared, n, None)[1])
        elif deterministic and n <= len(first):
            bounds.append(first[n - 1].failure_to_start_s)
        elif fitted is not None:
            bounds.append(fitted.initial_s * (fitted.factor or 1.0) ** (n - 1))
    reaction = reaction_s(first, declared) if declared is not None else 0.0
    rows: list[dict[str, Any]] = []
    for run in later:
        for r in run[: len(bounds)]:
            bound = bounds[r.n - 1]
            grown = first[-1].n + r.n  # the retry number, had the series gone on
            rows.append({
                "attempt": r.attempt, "n": r.n, "waited_s": round(r.failure_to_start_s, 6),
                "max_s": round(bound, 6),
                "without_reset_s": round(_continued(declared, first, grown), 6),
                "status": _status(calibration, r.failure_to_start_s, bound, reaction),
            })
    evidence: dict[str, Any] = {
        "series": [[run[0].attempt, run[-1].attempt] for run in runs],
        "retries": rows, "judged_against": (
            "declared policy" if declared is not None else
            "first series (deterministic)" if deterministic else "fitted policy (jittered)"),
        "reaction_s": round(reaction, 6),
    }
    late = [row for row in rows if row["status"] == "failed"]
    if len(late) >= CORROBORATION and (declared is not None or deterministic):
        row = late[0]
        return Result(NAME, level, "failed", (
            f"After a delivery the client's next failures waited as if its earlier series"
            f" had gone on: attempt {row['attempt']} came {ms(row['waited_s'])} after its"
            f" failure, where retry {row['n']} of a new series may wait {ms(row['max_s'])}"
            f" (plus slack), and {len(late) - 1} more retry did too. Reset the delay to the"
            f" initial one after every success ({SOURCE})."), evidence)
    if late or any(row["status"] == "inconclusive" for row in rows):
        return Result(NAME, level, "inconclusive", (
            "A retry after the delivery waited beyond the delay of a fresh series, but"
            " timer noise, a lone stall or an undeclared jittered policy leaves it"
            " undecided; declare the policy or add a failure to the later series."), evidence)
    if not rows:
        return Result(NAME, level, "skipped", (
            "Nothing to compare the later retries with: declare the policy."), evidence)
    return Result(NAME, level, "passed", (
        f"After each delivery the next failures were retried from the initial delay again"
        f" ({len(rows)} retr{'y' if len(rows) == 1 else 'ies'} within a fresh series'"
        " delays)."), evidence)


def _status(calibration: Calibration, waited_s: float, bound_s: float,
            reaction_s: float) -> Status:
    """``Calibration.upper_status``, except that a wait more than :data:`FAR` slacks past
    a bound too short to judge alone fails: a fresh series' first bounds (0.1 s, 0.2 s)
    are within a loaded machine's noise, while a client that did not reset waits the
    grown delays (0.8 s, 1.6 s), which no measured noise comes near."""
    status = calibration.upper_status(waited_s, bound_s, reaction_s)
    excess = waited_s - bound_s - max(reaction_s, 0.0)
    if status == "inconclusive" and excess > FAR * calibration.slack_s(bound_s):
        return "failed"
    return status


def _continued(declared: BackoffPolicy | None, first: Sequence[Retry], n: int) -> float:
    """What retry ``n`` of the first series would wait: the declared envelope, else the
    last delay seen (a floor: the series grew at least that far)."""
    if declared is not None:
        return envelope_s(declared, n)
    return first[-1].failure_to_start_s
