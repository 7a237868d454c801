"""Choosing a backend: the embedded proxy by default, Toxiproxy when a URL is given."""

from __future__ import annotations

import pytest

from harness.chaos import ChaosError, ChaosProxy, Toxic
from harness.chaos.backend import ENV_URL, ToxiproxyBackend, chaos_backend


def test_embedded_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)
    assert isinstance(chaos_backend(("127.0.0.1", 25)), ChaosProxy)


def test_toxiproxy_when_the_environment_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_URL, "http://127.0.0.1:8474")
    made = chaos_backend(("127.0.0.1", 25), [Toxic(type="noop")])
    assert isinstance(made, ToxiproxyBackend) and made.url == "http://127.0.0.1:8474"


def test_toxiproxy_that_is_not_there_is_a_clear_error() -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, not listening: nothing answers there
        port = unused.getsockname()[1]
        backend = ToxiproxyBackend(f"http://127.0.0.1:{port}", ("127.0.0.1", 25))
        with pytest.raises(ChaosError, match="no Toxiproxy answers"):
            backend.start()


def test_proxy_not_started_has_no_port() -> None:
    proxy = ChaosProxy(("127.0.0.1", 25))
    with pytest.raises(ChaosError, match="no port yet"):
        _ = proxy.port
    proxy.add_toxic(Toxic(type="noop"))  # before start: only the settings change
    assert [t.name for t in proxy.toxics] == ["noop_downstream"]
