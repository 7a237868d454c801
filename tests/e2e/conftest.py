"""Fixtures for end-to-end tests: real servers on loopback, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from harness import FakeSMTPServer, Timeline
from harness.faults import Fault

ServerFactory = Callable[..., FakeSMTPServer]


@pytest.fixture
def smtp_server() -> Iterator[ServerFactory]:
    """Start a FakeSMTPServer with the given faults; every one is stopped at teardown."""
    started: list[FakeSMTPServer] = []

    def start(faults: Sequence[Fault] = (), **options: object) -> FakeSMTPServer:
        server = FakeSMTPServer(faults, **options)  # type: ignore[arg-type]
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


def settled(server: FakeSMTPServer, attempts: int = 1, timeout: float = 10.0) -> Timeline:
    """The timeline once ``attempts`` connections arrived and all of them closed."""
    return server.recorder.wait_for(
        lambda t: len(t.attempts) >= attempts and all(a.end_ns for a in t.attempts), timeout
    )
