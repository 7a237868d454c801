"""C3 growth under ``backoff: increasing``, simulated: false passes and false fails.

    python -m benchmarks.bench_growth                 # 20,000 simulated runs per row
    python -m benchmarks.bench_growth --trials 2000   # a smoke run

A run is five retries, as the catalogue's growth scenarios fault five attempts. The
constant client waits 0.3 s each time (``tests/clients/constant_backoff.py``); the bundled
client draws full jitter over 0.1 s doubling to a 2 s cap. Each delay gains a reaction
time drawn from the noise of ``bench_herd`` (idle, or the reference's loaded CI machine),
and the calibration is the p99.9 of 300 draws of the same noise, as ``calibrate()``
measures it at the start of a run, made the worse of it and 90 draws as the client ends,
as ``Run`` judges (``recheck()``). ``load rose kx`` multiplies the noise after the first
calibration, the recheck sees it; ``burst kx`` multiplies it during the retries only,
which neither measurement sees: the case that once let a constant client pass.

A false pass is a passed growth for the constant client, a false fail a failed one for
the bundled client; each row judges with the very function the check uses
(``harness.verdicts.backoff.growth``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from benchmarks._figures import Figure, simulation_main
from benchmarks.bench_herd import Noise, idle, loaded
from harness.verdicts.backoff import growth
from harness.verdicts.calibration import RECHECK_SAMPLES, Calibration
from harness.verdicts.delays import Retry
from harness.verdicts.stats import quantile

RETRIES = 5
CONSTANT_S = 0.3
START_DRAWS = 300
"""What ``calibrate()`` measures as a run starts: 100 samples of each of three kinds."""
RECHECK_DRAWS = 3 * RECHECK_SAMPLES
MODELS: tuple[tuple[str, Noise, float, bool], ...] = (
    ("idle", idle, 1.0, True), ("loaded CI", loaded, 1.0, True),
    ("loaded CI, load rose 3x", loaded, 3.0, True), ("idle, load rose 10x", idle, 10.0, True),
    ("idle, burst 10x", idle, 10.0, False))
"""(label, noise, how much the noise rose after the first calibration, whether the
recheck as the client ends saw the rise)"""


def calibrated(rng: random.Random, noise: Noise, draws: int, scale: float = 1.0) -> Calibration:
    """What ``calibrate()`` would measure: quantiles of ``draws`` overshoots."""
    samples = [scale * noise(rng) for _ in range(draws)]
    return Calibration(samples=draws, sleep_s=0.001, p50_s=quantile(samples, 0.5),
                       p99_s=quantile(samples, 0.99), q_s=quantile(samples, 0.999))


def judged_with(rng: random.Random, noise: Noise, rise_seen: float = 1.0) -> Calibration:
    """The noise a run is judged with: the worse of the start calibration and the recheck
    as its client ends, which sees the noise ``rise_seen`` times higher."""
    return calibrated(rng, noise, START_DRAWS).worst(
        calibrated(rng, noise, RECHECK_DRAWS, rise_seen))


def simulate(client: str, noise: Noise, rise: float, seen: bool, trials: int, seed: int
             ) -> Counter[str]:
    """Growth outcomes of ``trials`` simulated runs of ``client``."""
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    for _ in range(trials):
        calibration = judged_with(rng, noise, rise if seen else 1.0)
        found = []
        for n in range(1, RETRIES + 1):
            sleep = (CONSTANT_S if client == "constant"
                     else rng.uniform(0, min(2.0, 0.1 * 2 ** (n - 1))))
            delay = sleep + rise * noise(rng)
            found.append(Retry(attempt=n + 1, n=n, start_to_start_s=delay,
                               failure_to_start_s=delay, failed_by="421"))
        outcomes[growth(found, None, calibration).status] += 1
    return outcomes


def figures(quick: bool = False, trials: int | None = None) -> list[Figure]:
    """One row per noise model and client, for ``python -m benchmarks``."""
    count = trials or (2_000 if quick else 20_000)
    rows: list[Figure] = []
    for label, noise, rise, seen in MODELS:
        constant = simulate("constant", noise, rise, seen, count, seed=1)
        bundled = simulate("bundled", noise, rise, seen, count, seed=2)
        rows.append(Figure(
            "verdicts", f"growth, constant 0.3 s client, {label}: passed (failed, undecided)",
            f"{constant['passed']} of {count}",
            f"{constant['failed']} failed, {constant['inconclusive']} inconclusive",
            None, "0 passed", constant["passed"] == 0))
        rows.append(Figure(
            "verdicts", f"growth, bundled full-jitter client, {label}: failed (passed)",
            f"{bundled['failed']} of {count}", f"{bundled['passed']} passed", None,
            "< 1 in 1,000 failed", bundled["failed"] * 1000 < count))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    return simulation_main("bench_growth", __doc__, figures, argv)


if __name__ == "__main__":
    raise SystemExit(main())
