"""The catalogue's workload scenarios (several messages, several clients): each is passed
by the bundled client, run in process, and failed by the zoo client broken in the way it
targets; a client that opens a new connection for every message is not exercised by the
idle-connection ones, and is told why. (The bundled client passes them as a command too,
with the whole catalogue, in tests/cli/test_catalogue.py.)"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from harness.clients import Target
from harness.engine import Engine
from harness.examples.client import build_message, main
from harness.model import load_scenario
from harness.run import Run
from tests.clients import Specimen

CAUGHT_BY = {
    "herd-outage": ("no_jitter", "herd-disperses"),
    "idle-timeout-421": ("pool_never_reconnects", "delivered.all"),
    "idle-timeout-reset": ("pool_never_reconnects", "delivered.all"),
    "backoff-reset-after-success": ("no_backoff_reset", "resets-backoff"),
}
TIMED = {"herd-disperses": 0.8, "resets-backoff": 0.2}
"""The delay a timing check must tell from the machine's noise: where the calibrated
noise dominates it (20 q), the check is undecided (inconclusive), never passed."""
TIME_LIMIT_S = 30.0


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(settle_s=2.0) as running:
        yield running


def bundled(target: Target) -> None:
    """The bundled client, as `harness demo` runs it, in process."""
    code = main(["--host", target.host, "--port", str(target.port), "--timeout", "3",
                 "--messages", str(target.messages), "--client-index", str(target.client)])
    if code:
        raise ConnectionError(f"the bundled client exited with {code}")


def connection_per_message(target: Target) -> None:
    """Correct, but no pool: a new connection, and a QUIT, for every message."""
    for n in range(1, target.messages + 1):
        with smtplib.SMTP(target.host, target.port, timeout=3) as smtp:
            smtp.send_message(build_message("app@example.org", ["user@example.org"],
                                            f"message {n}"))


def run(engine: Engine, scenario: str, client: object) -> Run:
    with engine.run(load_scenario(scenario)) as running:
        running.call(client, time_limit_s=TIME_LIMIT_S)  # type: ignore[arg-type]
    return running


@pytest.mark.parametrize("scenario", CAUGHT_BY)
def test_the_bundled_client_passes(engine: Engine, scenario: str) -> None:
    result = run(engine, scenario, bundled).result
    assert [r.name for r in result.verdict.failures] == []
    assert result.why == ()  # exercised


@pytest.mark.parametrize(("scenario", "client", "check"),
                         [(s, c, check) for s, (c, check) in CAUGHT_BY.items()])
def test_the_broken_client_is_caught(engine: Engine, scenario: str, client: str,
                                     check: str) -> None:
    result = run(engine, scenario, Specimen(client, "").send).result
    assert result.why == ()
    verdict = result.verdict
    if check in TIMED and verdict.result(check).status == "inconclusive":
        assert verdict.calibration.noise_dominates(TIMED[check]), verdict.result(check)
        return
    assert check in [r.name for r in verdict.failures], verdict.result(check)


@pytest.mark.parametrize("scenario", ["idle-timeout-421", "idle-timeout-reset"])
def test_a_connection_per_message_is_not_exercised_and_told_why(engine: Engine,
                                                                scenario: str) -> None:
    result = run(engine, scenario, connection_per_message).result
    assert len(result.timeline.messages) == 3  # every message delivered, on its own socket
    assert len(result.why) == 1
    assert "never fired: no connection was reused" in result.why[0]
    assert "carried at most 1" in result.why[0]
    assert "a new connection for every message" in result.why[0]
