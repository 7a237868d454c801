"""The zoo table: which scenario and which property test catches which client's bug.

``python -m tests.zoo.zoo`` prints the table (docs/zoo.md holds a copy); the test in this
folder computes it and compares.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyFailure
from hypothesis.strategies import SearchStrategy

from harness import strategies as hs
from harness.engine import Engine
from harness.model import Scenario, load_scenario
from harness.plan import Plan
from harness.properties import PropertyFailure, check_properties
from tests.clients import ZOO, Specimen

HERE = Path(__file__).parent

SCENARIOS = (
    "no-fault", "rcpt-451", "banner-421-throttle", "data-421", "mail-550",
    "store-then-drop-always", "banner-421-always", "never-answers",
    "cert-self-signed-starttls", "starttls-stripped", "starttls-auth-before-tls", "store-then-drop",
    "auth-535",
)
"""Built-in scenarios, plus two of the zoo's own (tests/zoo/scenarios/)."""


@dataclass(frozen=True)
class PropertyTest:
    name: str
    plans: SearchStrategy[Plan]
    examples: int


PROPERTIES = (
    PropertyTest("transient faults", hs.fault_plans(transient_only=True, max_attempts=4), 30),
    PropertyTest("any faults", hs.fault_plans(max_attempts=4, endless=True), 60),
    PropertyTest("STARTTLS faults", hs.fault_plans(max_attempts=3, tls="starttls"), 60),
    PropertyTest("silent server", hs.fault_plans(max_attempts=3, transient_only=True,
                                                 kinds=["hang"]), 4),
)

SCENARIO_TIME_LIMIT_S = 5.5
"""Six attempts of a correct client against a silent server take 3.1 s (0.5 s timeouts);
the client that retries for ever takes over 6 s."""
UNDECIDED = "inconclusive: "
"""How a passed cell with inconclusive results starts its explanation."""


def scenario(name: str) -> Scenario:
    own = HERE / "scenarios" / f"{name}.yaml"
    return Scenario.from_path(own) if own.is_file() else load_scenario(name)


def scenario_cell(engine: Engine, specimen: Specimen, name: str) -> tuple[bool, str]:
    """(caught, the failed expectations) for one client on one scenario."""
    with engine.run(scenario(name)) as run:
        run.call(specimen.send, time_limit_s=SCENARIO_TIME_LIMIT_S)
    if run.verdict.passed:  # timing noise may leave a catch undecided: say so
        undecided = [r.name for r in run.verdict.results if r.status == "inconclusive"]
        return False, f"{UNDECIDED}{', '.join(undecided)}" if undecided else ""
    return True, ", ".join(r.name for r in run.verdict.failures)


def scenario_row(specimen: Specimen) -> dict[str, tuple[bool, str]]:
    with Engine(settle_s=2.0) as engine:
        return {name: scenario_cell(engine, specimen, name) for name in SCENARIOS}


def property_cell(engine: Engine, specimen: Specimen, test: PropertyTest) -> tuple[bool, str]:
    """(caught, the broken properties) for one client on one property test. The examples
    are derandomised: the same plans every run."""
    policy = specimen.policy()

    @settings(max_examples=test.examples, database=None, deadline=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(test.plans)
    def prop(plan: Plan) -> None:
        check_properties(engine, plan, specimen.send, policy=policy)

    try:
        prop()
    except (PropertyFailure, FlakyFailure) as error:
        # the names for the table, the whole story for a test. A failure that did not
        # repeat when Hypothesis replayed it (timing on a loaded machine) was still seen
        failure = error if isinstance(error, PropertyFailure) else next(
            e for e in error.exceptions if isinstance(e, PropertyFailure))
        names = ", ".join(sorted({r.name for r in failure.verdict.failures}))
        return True, f"{names}\n{failure}"
    return False, ""


Cells = dict[tuple[str, str], tuple[bool, str]]


def compute(specimens: Sequence[Specimen] = ZOO, jobs: int = 6,
            progress: Callable[[str], None] = lambda line: None) -> Cells:
    """Every cell of the table: property tests one by one, then scenario rows in parallel."""
    cells: Cells = {}
    # property tests first, one engine, one client at a time: no client of a scenario
    # row (whose hung clients outlive their run) is around yet
    with Engine() as engine:
        for specimen in specimens:
            for test in PROPERTIES:
                cells[specimen.name, f"property: {test.name}"] = property_cell(
                    engine, specimen, test)
                progress(f"{specimen.name} / {test.name}")
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="zoo") as pool:
        for specimen, row in zip(specimens, pool.map(scenario_row, specimens)):
            cells.update({(specimen.name, name): cell for name, cell in row.items()})
    return cells


def columns() -> list[str]:
    return [*SCENARIOS, *(f"property: {t.name}" for t in PROPERTIES)]


DOCS = HERE.parents[1] / "docs" / "hypothesis.md"
MARKED = re.compile(r"<!-- zoo-table -->\n(.*?)\n<!-- /zoo-table -->", re.DOTALL)


def documented(markdown: str | None = None) -> dict[tuple[str, str], bool]:
    """(client, column) -> caught, as the docs' table shows it (docs/hypothesis.md's by
    default)."""
    if markdown is None:
        found = MARKED.search(DOCS.read_text())
        markdown = found.group(1) if found else ""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in markdown.strip().splitlines()]
    header = rows[0] if rows else []
    return {(row[0].strip("`"), column): row[i] == "caught"
            for row in rows[2:] for i, column in enumerate(header) if i >= 2}


def table(cells: Cells, specimens: Sequence[Specimen] = ZOO) -> str:
    """A Markdown table: a row per client, a column per scenario or property test;
    ``caught`` where the client failed it, ``-`` where it passed."""
    header = ["client", "bug", *columns()]
    rows = [header, ["---"] * len(header)]
    for s in specimens:
        rows.append([f"`{s.name}`", s.bug or "(correct)",
                     *("caught" if cells[s.name, c][0] else "-" for c in columns())])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


if __name__ == "__main__":
    result = compute(progress=lambda line: print(line, file=sys.stderr))
    print(table(result))
    for (client, column), (caught, why) in sorted(result.items()):
        if caught:
            print(f"{client:25} {column:28} {why.splitlines()[0]}", file=sys.stderr)
