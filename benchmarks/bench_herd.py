"""C6 herd dispersion: the false-fail rate of its statistic, simulated, and its power.

    python -m benchmarks.bench_herd                 # 200,000 simulated herds per row
    python -m benchmarks.bench_herd --trials 20000  # a smoke run

``herd-disperses`` counts the retries of a synchronised herd that came earlier than a
client without jitter could (its delay ``E``, less timer granularity) and fails a herd
of ``MIN_HERD`` or more with none. A herd of K clients is simulated as the reference
(§4.7) models a loaded CI machine: each retry lands ``jitter draw + reaction`` after the
failure, the reaction ``Exp(2 ms) + Exp(30 ms)`` plus, for 5 % of clients, a stall
``U(50, 250 ms)``; the failures themselves spread over 5 ms. The ``shared stall`` noise
adds, to 5 % of herds, one stall ``U(50, 250 ms)`` to every client at once (the server's
event loop or the whole machine pausing as the herd returns).

Each row judges the simulated delays with the very function the check uses
(``harness.verdicts.herd.count_early``). A false fail is a failed herd of a jittered
client; power is how often a client without jitter fails.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence

from harness.verdicts.calibration import Calibration
from harness.verdicts.herd import MIN_HERD, count_early

Noise = Callable[[random.Random], float]
CALIBRATION = Calibration.assumed()  # the floor uses timer granularity only


def loaded(rng: random.Random) -> float:
    """The reference's loaded-CI reaction time of one client, in seconds."""
    r = rng.expovariate(1 / 0.002) + rng.expovariate(1 / 0.030)
    return r + (rng.uniform(0.050, 0.250) if rng.random() < 0.05 else 0.0)


def idle(rng: random.Random) -> float:
    return rng.expovariate(1 / 0.002)


JITTER: dict[str, Callable[[random.Random, float], float]] = {
    "full": lambda rng, e: rng.uniform(0, e),
    "equal": lambda rng, e: rng.uniform(e / 2, e),
    "none": lambda rng, e: e,
}


def simulate(jitter: str, delay_s: float, clients: int, trials: int, noise: Noise,
             shared_stalls: bool = False, seed: int = 1) -> int:
    """How many of ``trials`` simulated herds ``herd-disperses`` fails."""
    rng = random.Random(seed)
    draw = JITTER[jitter]
    failed = 0
    for _ in range(trials):
        shared = rng.uniform(0.050, 0.250) if shared_stalls and rng.random() < 0.05 else 0.0
        xs = [rng.uniform(0, 0.005) + draw(rng, delay_s) + noise(rng) + shared
              for _ in range(clients)]
        if len(xs) >= MIN_HERD and count_early(xs, delay_s, CALIBRATION) == 0:
            failed += 1
    return failed


CASES = (
    ("full", 0.8, 20, "loaded + shared stall"),
    ("equal", 0.8, 20, "loaded + shared stall"),
    ("full", 0.8, MIN_HERD, "loaded + shared stall"),
    ("none", 0.8, 20, "loaded + shared stall"),
    ("full", 0.1, 20, "loaded"),
    ("full", 0.1, 20, "loaded + shared stall"),
)
"""(jitter, delay E, clients, noise): the herd scenario's retry (E = 0.8 s), and the
bundled client's first retry (E = 0.1 s) for contrast."""


def rows(trials: int) -> list[tuple[str, float, int, str, int, int]]:
    """(jitter, delay, clients, noise, herds, failed) for every case."""
    out = []
    for jitter, delay, clients, noise in CASES:
        fn = idle if noise == "idle" else loaded
        n = trials if jitter != "none" else min(trials, 10_000)
        failed = simulate(jitter, delay, clients, n, fn, shared_stalls="shared" in noise)
        out.append((jitter, delay, clients, noise, n, failed))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_herd",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200_000)
    args = parser.parse_args(argv)
    print("| jitter | delay E | clients | noise | herds | failed | rate |")
    print("|---|---|---|---|---|---|---|")
    for jitter, delay, clients, noise, n, failed in rows(args.trials):
        print(f"| {jitter} | {delay:g} s | {clients} | {noise} | {n:,} | {failed:,} |"
              f" {failed / n:.2e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
