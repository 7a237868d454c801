"""The zoo table: every broken client caught by at least one scenario or property test,
every correct client passing all of them, and the table the docs show is the one
measured here. Property tests are derandomised, so the same plans run every time."""

from __future__ import annotations

import gc

import pytest

from tests.clients import ZOO
from tests.zoo import zoo

DOCS = zoo.DOCS
MARKED = zoo.MARKED


@pytest.fixture(scope="module")
def cells() -> zoo.Cells:
    computed = zoo.compute()  # minutes on a loaded machine: 255 cells
    gc.collect()  # what the clients leaked is collected here, under this module's filter
    return computed


pytestmark = [
    pytest.mark.xdist_group("zoo"),  # one worker computes the table (tests/conftest.py)
    pytest.mark.timeout(600),  # the first test pays for the whole table
    # aiosmtplib (on asyncio's start_tls) leaves the socket of a failed STARTTLS handshake
    # to the garbage collector: the client's library, not the harness
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.mark.slow
@pytest.mark.parametrize("specimen", [s for s in ZOO if s.bug is None], ids=lambda s: s.name)
def test_a_correct_client_passes_everything(cells: zoo.Cells, specimen: object) -> None:
    name = specimen.name  # type: ignore[attr-defined]
    failed = {column: why for column in zoo.columns() if (got := cells[name, column])[0]
              for why in [got[1]]}
    assert failed == {}


@pytest.mark.slow
@pytest.mark.parametrize("specimen", [s for s in ZOO if s.bug], ids=lambda s: s.name)
def test_a_broken_client_is_caught(cells: zoo.Cells, specimen: object) -> None:
    """Caught at least once, and by every property test the docs show catching it: a
    property test finds its bug in every run (its examples are derandomised)."""
    name = specimen.name  # type: ignore[attr-defined]
    shown = zoo.documented()
    # a bug only timing shows (constant_backoff) is undecided where the machine's noise
    # is too large to judge it: inconclusive, never passed
    assert any(cells[name, column][0] or (shown.get((name, column)) and cells[name, column][
        1].startswith(zoo.UNDECIDED)) for column in zoo.columns())
    missed = [column for column in zoo.columns() if column.startswith("property: ")
              and shown.get((name, column)) and not cells[name, column][0]]
    assert missed == []


@pytest.mark.slow
def test_the_docs_show_this_table(cells: zoo.Cells) -> None:
    found = MARKED.search(DOCS.read_text())
    assert found is not None, "docs/hypothesis.md has no <!-- zoo-table --> section"
    # a catch the docs show may be undecided on a loaded machine (a timing result
    # inconclusive), never passed outright
    # The table shows what every run finds. A catch may be undecided on a loaded machine
    # (a timing result inconclusive), never passed outright; and a property test may
    # meet a broken client's bug in more columns than every run does.
    shown = zoo.documented(found.group(1))
    broken = {s.name for s in ZOO if s.bug}
    tolerated = {key: (shown.get(key, False), why) for key, (caught, why) in cells.items()
                 if (not caught and why.startswith(zoo.UNDECIDED))
                 or (caught and key[0] in broken and key[1].startswith("property: "))}
    judged = {**cells, **tolerated}
    changed = "".join(f"\n{client} / {column}: {'caught' if caught else 'passed'} {why}"
                      for (client, column), (caught, why) in sorted(judged.items())
                      if caught != shown.get((client, column), False))
    assert found.group(1).strip() == zoo.table(judged), (
        "the zoo table changed: `python -m tests.zoo.zoo` prints the new one for"
        f" docs/hypothesis.md; the cells that differ:{changed}"
    )


@pytest.mark.slow
def test_every_client_runs_as_a_command() -> None:
    """``python -m tests.clients.<name>`` works for every client, against a real scenario."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from harness.clients import CommandClient
    from harness.model import load_scenario
    from harness.outcome import RunResult
    from harness.run import run_scenario

    scenario = load_scenario("rcpt-451")
    expected = {s.name: s.name not in ("never_retries", "reuses_after_421") for s in ZOO}

    def one(name: str) -> RunResult:
        client = CommandClient([sys.executable, "-m", f"tests.clients.{name}", "--host",
                                "{host}", "--port", "{port}"])
        return run_scenario(scenario, client, timeout_s=20)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(expected, pool.map(one, expected)))
    passed = {name: result.passed for name, result in results.items()}
    assert passed == expected, "\n".join(
        f"{name}: {result.outcome} {result.why} {result.client.stderr[-500:]}\n{result.verdict}"
        for name, result in results.items() if result.passed != expected[name])
