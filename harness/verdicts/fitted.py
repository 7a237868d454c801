"""The backoff policy a client's retries follow: what it actually does, for the report.

Fitted from the failure-to-start delays of one run: a Theil-Sen line through the log
delays gives the initial delay and the growth factor, a two-segment fit finds a cap, and
the spread of the delays around the line gives a guess at the jitter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from harness.verdicts.delays import Retry
from harness.verdicts.result import ms
from harness.verdicts.stats import median, ols, theil_sen


@dataclass(frozen=True)
class FittedPolicy:
    """The policy the client's delays fit: what it actually does.

    ``initial_s`` is the first envelope (for a jittered client, the smallest envelope
    that holds every delay); ``jitter`` is a guess from one run.
    """

    retries: int
    initial_s: float
    factor: float | None
    cap_s: float | None
    jitter: Literal["none", "equal", "full", "unknown"]
    delays_s: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "retries": self.retries,
            "initial_s": round(self.initial_s, 4),
            "factor": None if self.factor is None else round(self.factor, 3),
            "cap_s": None if self.cap_s is None else round(self.cap_s, 4),
            "jitter": self.jitter,
            "delays_s": [round(d, 4) for d in self.delays_s],
        }

    def describe(self) -> str:
        parts = [f"initial {ms(self.initial_s)}"]
        if self.factor is not None:
            parts.append(f"factor {self.factor:.2f}")
        parts.append(f"cap {ms(self.cap_s)}" if self.cap_s is not None else "no cap seen")
        parts.append(f"jitter {self.jitter}")
        return ", ".join(parts)



def fit_policy(found: Sequence[Retry]) -> FittedPolicy | None:
    """Initial delay, factor, cap and a jitter guess from the failure-to-start delays."""
    if not found:
        return None
    xs = [float(r.n) for r in found]
    ds = [max(r.failure_to_start_s, 1e-6) for r in found]
    delays = tuple(r.failure_to_start_s for r in found)
    if len(found) == 1:
        return FittedPolicy(1, ds[0], None, None, "unknown", delays)
    plateau_from = plateau_start(xs, ds)
    pre = len(xs) if plateau_from is None else max(2, plateau_from)
    slope, intercept = theil_sen(xs[:pre], [math.log(d) for d in ds[:pre]])
    factor = math.exp(slope)
    scaled = [d / factor ** (x - 1) for x, d in zip(xs[:pre], ds[:pre])]
    top = max(scaled)
    jitter: Literal["none", "equal", "full", "unknown"] = "unknown"
    if pre >= 3:
        lowest = min(scaled) / top
        jitter = "none" if lowest >= 0.8 else "equal" if lowest >= 0.45 else "full"
    initial = math.exp(intercept + slope) if jitter in ("none", "unknown") else top
    cap_s = None
    if plateau_from is not None:
        plateau = ds[plateau_from:]
        cap_s = median(plateau) if jitter in ("none", "unknown") else max(plateau)
    return FittedPolicy(len(found), initial, factor, cap_s, jitter, delays)


def plateau_start(xs: Sequence[float], ds: Sequence[float]) -> int | None:
    """Where the delays stop growing (index into ``xs``), by the best two-segment fit of
    log delays: a rising line, then a flat plateau of at least two retries."""
    if len(xs) < 4:
        return None
    logs = [math.log(d) for d in ds]
    line_sse = ols(xs, logs)[2]
    best: tuple[float, int] | None = None
    for start in range(2, len(xs) - 1):
        rise, _, rise_sse = ols(xs[:start], logs[:start])
        flat = logs[start:]
        level = sum(flat) / len(flat)
        flat_sse = sum((v - level) ** 2 for v in flat)
        flat_slope = ols(xs[start:], flat)[0]
        if rise <= math.log(1.2) or abs(flat_slope) >= math.log(1.15):
            continue
        sse = rise_sse + flat_sse
        if best is None or sse < best[0]:
            best = (sse, start)
    if best is None or best[0] >= 0.5 * line_sse:
        return None
    return best[1]
