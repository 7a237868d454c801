"""Every toxic scoped to attempt 1, end to end with smtplib: attempt 1 is hit, attempt 2
(the control twin) is clean, and the timeline says which toxics were active where."""

from __future__ import annotations

import json
import smtplib
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from harness.chaos import Toxic
from harness.chaos.backend import ToxiproxyBackend
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder
from tests.chaos.conftest import BackendFactory
from tests.chaos.test_smtp_through_proxy import next_attempt, send_smtplib, settled


def quit_then_eof(host: str, port: int) -> float:
    """A minimal session ending in QUIT; seconds from the 221 to the server's close."""
    with socket.create_connection((host, port), timeout=10) as sock:
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"220")
        sock.sendall(b"QUIT\r\n")
        assert stream.readline().startswith(b"221")
        start = time.monotonic()
        assert stream.read() == b""
        stream.close()
        return time.monotonic() - start


def toxics_on_server(proxy: ToxiproxyBackend) -> list[str]:
    """The names of the toxics the Toxiproxy server holds for ``proxy``, from its API.
    That the control twin runs clean is this (and, on the embedded proxy, the timeline),
    not its duration: on a loaded machine a clean session can take longer than a slowed
    one did."""
    parts = urlsplit(proxy.url if "//" in proxy.url else f"http://{proxy.url}")
    with urllib.request.urlopen(f"http://{parts.netloc}/proxies/{proxy.name}/toxics",
                                timeout=10) as response:
        return [toxic["name"] for toxic in json.load(response)]


@dataclass
class Case:
    toxic: Toxic
    check: Callable[[Exception | None, float], bool]  # (error, seconds) of attempt 1
    acted: str  # what the timeline says the toxic did on attempt 1
    session: str = "smtplib"
    client_timeout_s: float = 10.0  # a throttled session may take seconds under load


def ok_slower_than(seconds: float) -> Callable[[Exception | None, float], bool]:
    return lambda error, took: error is None and took >= seconds


def disconnected(error: Exception | None, took: float) -> bool:
    return isinstance(error, (smtplib.SMTPServerDisconnected, ConnectionResetError))


CASES = {
    "latency": Case(Toxic(type="latency", attributes={"latency": 100}, attempts=1),
                    ok_slower_than(0.6), "delaying chunks by 100 ms"),
    "bandwidth": Case(Toxic(type="bandwidth", stream="upstream", attributes={"rate": 40},
                            attempts=1), ok_slower_than(0.45), "throttling to 40 KB/s"),
    "slow_close": Case(Toxic(type="slow_close", attributes={"delay": 500}, attempts=1),
                       lambda error, took: took >= 0.5 - 0.005, "close delayed by 500 ms",
                       session="quit"),
    "timeout": Case(Toxic(type="timeout", attributes={"timeout": 0}, attempts=1),
                    lambda error, took: disconnected(error, took) and "timed out" in str(error),
                    "dropping data", client_timeout_s=1.0),
    "reset_peer": Case(Toxic(type="reset_peer", attributes={"timeout": 0}, attempts=1),
                       disconnected, "RST sent"),
    "slicer": Case(Toxic(type="slicer", attributes={"average_size": 2, "delay": 1000},
                         attempts=1), ok_slower_than(0.1), "slicing into"),
    "limit_data": Case(Toxic(type="limit_data", stream="upstream",
                             attributes={"bytes": 10_000}, attempts=1), disconnected,
                       "bytes cut at offset 10000"),
    "noop": Case(Toxic(type="noop", attempts=1), ok_slower_than(0.0), "active"),
}


def run_session(case: Case, host: str, port: int) -> tuple[Exception | None, float]:
    start = time.monotonic()
    if case.session == "quit":
        return None, quit_then_eof(host, port)
    error = send_smtplib(host, port, timeout=case.client_timeout_s)
    return error, time.monotonic() - start


@pytest.mark.parametrize("name", CASES)
def test_toxic_on_attempt_1_only(
    backend: BackendFactory, recorder: Recorder, name: str
) -> None:
    case = CASES[name]
    with FakeSMTPServer(recorder=recorder) as smtp:
        proxy = backend((smtp.host, smtp.port), [case.toxic])
        error, took = run_session(case, proxy.host, proxy.port)
        assert case.check(error, took), (error, took)
        next_attempt(proxy, 2)
        if isinstance(proxy, ToxiproxyBackend):  # the server's own view as attempt 2 starts
            assert toxics_on_server(proxy) == []
        control_error, _ = run_session(case, proxy.host, proxy.port)
        assert control_error is None
        timeline = settled(recorder, 2)
    if getattr(backend, "kind", "") == "embedded":
        active = [e for e in timeline.attempt(1).of_kind("toxic") if e.text.endswith("active")]
        assert [e.data["toxic"] for e in active] == [case.toxic.name]
        texts = [e.text for e in timeline.attempt(1).of_kind("toxic")]
        assert any(case.acted in text for text in texts), texts
        assert timeline.attempt(2).of_kind("toxic") == []


def test_down_on_attempt_1_only(backend: BackendFactory, recorder: Recorder) -> None:
    with FakeSMTPServer(recorder=recorder) as smtp:
        proxy = backend((smtp.host, smtp.port), down=1)
        assert disconnected(send_smtplib(proxy.host, proxy.port), 0.0)
        next_attempt(proxy, 2)
        assert send_smtplib(proxy.host, proxy.port) is None  # the control twin
        timeline = settled(recorder, 2)
    assert [m.attempt for m in timeline.messages] == [2]
    assert timeline.attempt(1).commands == []
