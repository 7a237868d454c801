"""The zoo table: every broken client caught by at least one scenario or property test,
every correct client passing all of them, and the table the docs show is the one
measured here. Property tests are derandomised, so the same plans run every time."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest

from tests.clients import ZOO
from tests.zoo import zoo

DOCS = Path(__file__).resolve().parents[2] / "docs" / "hypothesis.md"
MARKED = re.compile(r"<!-- zoo-table -->\n(.*?)\n<!-- /zoo-table -->", re.DOTALL)


@pytest.fixture(scope="module")
def cells() -> zoo.Cells:
    computed = zoo.compute()  # about a minute: 180 cells
    gc.collect()  # what the clients leaked is collected here, under this module's filter
    return computed


pytestmark = [
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
    name = specimen.name  # type: ignore[attr-defined]
    assert any(cells[name, column][0] for column in zoo.columns())


@pytest.mark.slow
def test_the_docs_show_this_table(cells: zoo.Cells) -> None:
    found = MARKED.search(DOCS.read_text())
    assert found is not None, "docs/hypothesis.md has no <!-- zoo-table --> section"
    assert found.group(1).strip() == zoo.table(cells), (
        "the zoo table changed: `python -m tests.zoo.zoo` prints the new one for"
        " docs/hypothesis.md"
    )


def test_every_client_runs_as_a_command() -> None:
    """``python -m tests.clients.<name>`` works for every client, against a real scenario."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from harness.clients import CommandClient
    from harness.model import load_scenario
    from harness.run import run_scenario

    scenario = load_scenario("rcpt-451")
    expected = {s.name: s.name not in ("never_retries", "reuses_after_421") for s in ZOO}

    def one(name: str) -> bool:
        client = CommandClient([sys.executable, "-m", f"tests.clients.{name}", "--host",
                                "{host}", "--port", "{port}"])
        return run_scenario(scenario, client, timeout_s=20).passed

    with ThreadPoolExecutor(max_workers=4) as pool:
        passed = dict(zip(expected, pool.map(one, expected)))
    assert passed == expected
