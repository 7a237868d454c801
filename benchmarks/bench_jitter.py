"""C7, the jitter's shape (``backoff.jitter``), simulated: false fails and power.

    python -m benchmarks.bench_jitter                 # 20,000 runs per false-fail row
    python -m benchmarks.bench_jitter --trials 2000   # a smoke run

A run is ``N`` retries under one envelope ``E`` (a capped policy); each delay is the
client's draw plus a reaction time from ``bench_herd``'s noise models, judged with the
worse of a start calibration (300 draws) and a recheck (90 draws) of the same noise, as
a run is. A false fail is a failed check for a client drawing as declared; power is the
share of runs failed for a client whose jitter is not the declared one: none (every
delay the whole envelope) or equal jitter declared as full, and full declared as equal.
A pass needs the retries to tell full from equal jitter in all but 1 in 1,000 runs
(``harness.verdicts.jitter.Z_POWER``), so that is the target of the power rows.
Each row judges with the very function the check uses
(``harness.verdicts.jitter.jitter_shape``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from benchmarks._figures import Figure, simulation_main
from benchmarks.bench_growth import judged_with
from benchmarks.bench_herd import JITTER, Noise, idle, loaded
from harness.verdicts.delays import Retry
from harness.verdicts.jitter import jitter_shape
from harness.verdicts.spec import Jitter

NOISES: dict[str, Noise] = {"idle": idle, "loaded CI": loaded}
CORRECT: tuple[tuple[Jitter, int, float], ...] = (
    ("full", 8, 0.4), ("full", 52, 0.4), ("equal", 52, 0.4), ("full", 52, 2.0),
    ("full", 100, 2.0))
"""(declared and drawn jitter, retries, envelope in seconds) of the false-fail rows."""
BROKEN: tuple[tuple[str, Jitter, int, float], ...] = (
    ("none", "full", 6, 0.4), ("none", "full", 52, 0.4), ("equal", "full", 52, 0.4),
    ("equal", "full", 52, 2.0), ("full", "equal", 52, 0.4), ("full", "equal", 52, 2.0))
"""(drawn, declared, retries, envelope) of the power rows."""


def simulate(drawn: str, declared: Jitter, retries: int, envelope_s: float, noise: Noise,
             trials: int, seed: int) -> Counter[str]:
    """The check's outcomes over ``trials`` simulated runs."""
    rng = random.Random(seed)
    draw = JITTER[drawn]
    outcomes: Counter[str] = Counter()
    for _ in range(trials):
        calibration = judged_with(rng, noise)
        found = []
        for n in range(1, retries + 1):
            delay = draw(rng, envelope_s) + noise(rng)
            found.append((Retry(attempt=n + 1, n=n, start_to_start_s=delay,
                                failure_to_start_s=delay, failed_by="421"), envelope_s))
        outcomes[jitter_shape(found, declared, calibration).status] += 1
    return outcomes


def figures(quick: bool = False, trials: int | None = None) -> list[Figure]:
    """False-fail rows for correct clients, power rows for broken ones, per noise model."""
    count = trials or (2_000 if quick else 20_000)
    rows: list[Figure] = []
    for label, noise in NOISES.items():
        for jitter, retries, envelope_s in CORRECT:
            seen = simulate(jitter, jitter, retries, envelope_s, noise, count, seed=1)
            rows.append(Figure(
                "verdicts", f"jitter shape, {jitter} as declared, {retries} retries of"
                f" {envelope_s:g} s, {label}: failed (passed)", f"{seen['failed']} of {count}",
                f"{seen['passed']} passed", None, "< 1 in 1,000 failed",
                seen["failed"] * 1000 < count))
        for drawn, declared, retries, envelope_s in BROKEN:
            runs = max(count // 10, 200)
            seen = simulate(drawn, declared, retries, envelope_s, noise, runs, seed=2)
            rows.append(Figure(
                "verdicts", f"jitter shape, {drawn} declared {declared}, {retries} retries of"
                f" {envelope_s:g} s, {label}: failed", f"{seen['failed']} of {runs}",
                f"{seen['passed']} passed, {seen['skipped']} skipped,"
                f" {seen['inconclusive']} inconclusive", None, "<= 1 in 1,000 passed",
                seen["passed"] * 1000 <= runs))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    return simulation_main("bench_jitter", __doc__, figures, argv)


if __name__ == "__main__":
    raise SystemExit(main())
