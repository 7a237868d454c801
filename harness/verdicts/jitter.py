"""C7: the delays have the declared jitter's shape (``backoff.jitter``, advisory).

Under a declared full jitter each delay over its envelope, ``u = d / E_n``, is uniform
on ``[0, 1]``; under equal jitter on ``[0.5, 1]`` (reference §4.6, C7). The floor and the
envelope bound every delay on its own; this check looks at them together, and finds what
neither can: a client declared full-jitter that draws from the top half of its envelope,
or no jitter at all (every ``u`` near 1: a fleet's retries come back as one wave), or
from the bottom half (more aggressive than declared).

Noise only lengthens a delay, so the test is one-sided in each direction and noise-aware:

- *shorter than declared*: the empirical distribution of ``u = d / E`` (never below the
  true draw) may not rise above the declared one by more than ``ε``;
- *longer than declared*: that of ``(d - noise) / E`` (never above the true draw; the
  noise is the calibrated ``max(3q, 50 ms)`` of every upper bound's slack) may not fall
  below it by more than ``ε``. The client's own per-attempt work is not taken off, unlike for the
  envelope: estimated from the shortest delay, it would be the whole envelope of a client
  without jitter. Work beyond that noise reads as narrower jitter (an advisory finding).

``ε = sqrt(ln(1/alpha) / 2N)`` with ``alpha = 2.5e-4``: by the Dvoretzky-Kiefer-Wolfowitz
inequality (Massart's constant), a client that draws as declared breaks each bound with
probability at most ``alpha`` whatever ``N``, so both together at most 1 in 2,000. Only
retries whose envelope is at least 20 times the calibrated noise count (noise distorts
small envelopes); with too few of them to tell full from equal jitter almost surely
(fewer than :func:`deciding_retries`, 52) the check passes nothing: a clear breach still
fails, the rest is skipped, saying so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from harness.verdicts.calibration import Calibration
from harness.verdicts.delays import Retry
from harness.verdicts.result import Result
from harness.verdicts.spec import Jitter, Level

ALPHA = 2.5e-4
"""The false-fail bound of each of the two directions: below 1 in 2,000 together."""
Z_POWER = 3.09
"""A pass needs the power to catch full jitter declared as equal, or equal as full (half
the draws out of place), in all but 1 in 1,000 runs: ``ε + Z·0.5/sqrt(N) <= 0.5``."""
SHAPES: dict[str, Callable[[float], float]] = {
    "full": lambda u: min(max(u, 0.0), 1.0),
    "equal": lambda u: min(max(2 * u - 1, 0.0), 1.0),
}
"""The declared distribution of ``u = delay / envelope``, as a CDF, per jitter kind."""


def deciding_retries() -> int:
    """The fewest retries whose pass means full and equal jitter were told apart."""
    n = 1
    while epsilon(n) + Z_POWER * 0.5 / math.sqrt(n) > 0.5:
        n += 1
    return n


def epsilon(n: int) -> float:
    """How far an empirical CDF of ``n`` draws strays, one-sided, with probability alpha."""
    return math.sqrt(math.log(1 / ALPHA) / (2 * n))


def jitter_shape(found: Sequence[tuple[Retry, float]], jitter: Jitter,
                 calibration: Calibration) -> Result:
    """C7 for a policy declaring ``full`` or ``equal`` jitter: ``found`` pairs each retry
    with its declared envelope."""
    name = "backoff.jitter"
    level: Level = "advisory"
    cdf = SHAPES[jitter]
    if not found:
        return Result(name, level, "skipped", "The client made no retry; nothing to judge.")
    judged = [(r, e) for r, e in found if not calibration.noise_dominates(e)]
    if not judged and len(found) < deciding_retries():
        return Result(name, level, "skipped", _too_few(len(found)))
    if not judged:
        return Result(name, level, "inconclusive", (
            f"Every one of the {len(found)} retries had an envelope under 20 times this"
            " machine's timer noise: their shape is noise."))
    n = len(judged)
    eps = epsilon(n)
    high = sorted(r.failure_to_start_s / e for r, e in judged)
    low = sorted((r.failure_to_start_s - calibration.noise_s()) / e
                 for r, e in judged)
    shorter = max((i + 1) / n - cdf(u) for i, u in enumerate(high))
    longer = max(cdf(u) - i / n for i, u in enumerate(low))
    evidence: dict[str, Any] = {
        "jitter": jitter, "retries": n, "left_out": len(found) - n,
        "u": [round(u, 4) for u in high], "shorter_by": round(shorter, 4),
        "longer_by": round(longer, 4), "epsilon": round(eps, 4), "alpha": ALPHA,
    }
    median_u = high[n // 2]
    if longer > eps:
        return Result(name, level, "failed", (
            f"The {n} delays sit higher in their envelopes than {jitter} jitter draws"
            f" (median {median_u:.2f} of the envelope; {longer:.2f} of the draws missing"
            f" below, timer noise allowed, where chance stays under {eps:.2f} in all but"
            f" 1 in {1 / ALPHA:,.0f} runs): the client's jitter is narrower than declared,"
            " or none, and clients failed together retry together (gRPC connection-backoff,"
            " Brooker 2015: jitter spreads them)."), evidence)
    if shorter > eps:
        return Result(name, level, "failed", (
            f"The {n} delays sit lower in their envelopes than {jitter} jitter draws"
            f" (median {median_u:.2f} of the envelope; {shorter:.2f} of the draws too short,"
            f" where chance stays under {eps:.2f} in all but 1 in {1 / ALPHA:,.0f} runs):"
            " the client retries sooner than its declared policy."), evidence)
    if n < deciding_retries():
        return Result(name, level, "skipped", _too_few(n, len(found) - n), evidence)
    return Result(name, level, "passed", (
        f"The {n} delays fit {jitter} jitter (largest deviation"
        f" {max(shorter, longer):.2f}, chance allows {eps:.2f})."), evidence)


def _too_few(n: int, noisy: int = 0) -> str:
    left_out = (f" ({noisy} more had envelopes under 20 times the timer noise)" if noisy
                else "")
    return (f"{n} retries{left_out} are too few to test the jitter's shape (telling full from"
            f" equal jitter takes {deciding_retries()}); none broke it grossly.")
