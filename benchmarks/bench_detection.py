"""How often a random property-test run finds each zoo bug, and after how many examples.

    python -m benchmarks.bench_detection               # 50 runs per cell
    python -m benchmarks.bench_detection --runs 5      # a smoke run

For every broken client of the zoo (``tests/clients``) and every property test of the
zoo table (``tests/zoo/zoo.py``: its strategy and its number of examples), ``--runs``
runs of Hypothesis with a fresh random seed and no example database, each stopping at
the first example that breaks a property (no shrinking). A cell reports the runs that
found the bug, out of all, and the median number of examples it took them. The zoo's own
test derandomises the same strategies, so it sees the same plans every run; these figures
say what a user's randomised run can expect. ``--caught-only`` measures just the cells
the zoo table shows caught.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import FlakyFailure

from harness.engine import Engine
from harness.plan import Plan
from harness.properties import PropertyFailure, check_properties
from tests.clients import ZOO, Specimen
from tests.zoo.zoo import PROPERTIES, PropertyTest, documented


@dataclass(frozen=True)
class Cell:
    client: str
    test: str
    found: int
    runs: int
    median_examples: float | None


def one_run(engine: Engine, specimen: Specimen, test: PropertyTest, run_seed: int) -> int | None:
    """Examples until the first broken property, or None when none broke."""
    policy = specimen.policy()
    count = 0

    @seed(run_seed)
    @settings(max_examples=test.examples, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(test.plans)
    def prop(plan: Plan) -> None:
        nonlocal count
        count += 1
        check_properties(engine, plan, specimen.send, policy=policy)

    try:
        prop()
    except (PropertyFailure, FlakyFailure):
        return count
    return None


def measure(runs: int, specimens: Sequence[Specimen] = ZOO, caught_only: bool = False
            ) -> list[Cell]:
    rng = random.Random()
    cells = []
    shown = documented()
    with Engine() as engine:
        for specimen in specimens:
            for test in PROPERTIES:
                if caught_only and not shown.get((specimen.name, f"property: {test.name}")):
                    continue
                found = [n for n in (one_run(engine, specimen, test, rng.getrandbits(64))
                                     for _ in range(runs)) if n is not None]
                cells.append(Cell(specimen.name, test.name, len(found), runs,
                                  statistics.median(found) if found else None))
                print(f"{specimen.name} / {test.name}: {len(found)}/{runs}", file=sys.stderr)
    return cells


def table(cells: Sequence[Cell]) -> str:
    rows = ["| client | property test | runs that found it | median examples to find it |",
            "| --- | --- | --- | --- |"]
    for c in cells:
        median = "-" if c.median_examples is None else f"{c.median_examples:g}"
        rows.append(f"| `{c.client}` | {c.test} | {c.found}/{c.runs} | {median} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_detection",
                                     description=__doc__)
    parser.add_argument("--runs", type=int, default=50, help="random runs per cell")
    parser.add_argument("--client", action="append", help="only these zoo clients")
    parser.add_argument("--caught-only", action="store_true",
                        help="only the cells the zoo table (docs/hypothesis.md) shows caught")
    args = parser.parse_args(argv)
    chosen = [s for s in ZOO if (not args.client or s.name in args.client) and s.bug]
    print(table(measure(args.runs, chosen, args.caught_only)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
