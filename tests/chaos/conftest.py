"""Fixtures for the chaos layer: an echo upstream, and the backend under test.

``backend`` runs each conformance test against the embedded proxy directly, against the
embedded proxy through toxiproxy-python over its HTTP API, and against a real Toxiproxy
when TOXIPROXY_URL is set (skipped otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

import pytest

from harness.attempts import AttemptsLike
from harness.chaos import ChaosProxy, Toxic
from harness.chaos.api import ToxiproxyAPI
from harness.chaos.backend import ENV_URL, ChaosBackend, ToxiproxyBackend
from harness.timeline import Recorder
from tests.chaos.upstream import EchoServer

BackendFactory = Callable[..., ChaosBackend]
SEED = 20261128


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


@pytest.fixture
def greeter() -> Iterator[EchoServer]:
    """An upstream that speaks first, as an SMTP server does."""
    server = EchoServer(greeting=b"220 hello\r\n")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api() -> Iterator[ToxiproxyAPI]:
    """The embedded proxies' Toxiproxy HTTP API on a loopback port of its own."""
    with ToxiproxyAPI(seed=SEED) as server:
        yield server


@pytest.fixture(params=["embedded", "http", "toxiproxy"])
def backend(
    request: pytest.FixtureRequest, recorder: Recorder
) -> Iterator[BackendFactory]:
    """Start a chaos backend in front of an upstream; all are stopped at teardown."""
    kind: str = request.param
    url = os.environ.get(ENV_URL)
    if kind == "toxiproxy" and not url:
        pytest.skip(f"set {ENV_URL} to run against a real Toxiproxy")
    if kind == "http":
        url = request.getfixturevalue("api").url
    started: list[ChaosBackend] = []

    def start(upstream: tuple[str, int], toxics: Iterable[Toxic] = (),
              down: AttemptsLike | None = None) -> ChaosBackend:
        made: ChaosBackend
        if kind == "embedded":
            made = ChaosProxy(upstream, toxics, recorder=recorder, seed=SEED, down=down)
        else:
            assert url is not None
            made = ToxiproxyBackend(url, upstream, toxics, recorder=recorder, down=down)
        started.append(made.start())
        return made

    start.kind = kind  # type: ignore[attr-defined]
    yield start
    for made in started:
        made.stop()
