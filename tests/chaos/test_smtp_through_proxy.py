"""SMTP clients through the chaos proxy: smtplib and aiosmtplib, each fault with its
control twin, toxics scoped per attempt and recorded on the attempt they hit."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import threading
import time
from collections.abc import Iterator

import aiosmtplib
import pytest

from harness.chaos import ChaosProxy, Toxic
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder, Timeline
from tests.chaos.conftest import SEED, BackendFactory
from tests.chaos.upstream import read_to_end

BODY = b"Message-ID: <chaos@harness.test>\r\nSubject: chaos\r\n\r\n" + (b"y" * 98 + b"\r\n") * 200
FROM, TO = "sender@harness.test", ["rcpt@harness.test"]


@pytest.fixture
def smtp(recorder: Recorder) -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer(recorder=recorder) as server:
        yield server


def send_smtplib(host: str, port: int, timeout: float = 5.0) -> Exception | None:
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            client.sendmail(FROM, TO, BODY)
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


def send_aiosmtplib(host: str, port: int, timeout: float = 5.0) -> Exception | None:
    async def send() -> None:
        async with aiosmtplib.SMTP(hostname=host, port=port, timeout=timeout,
                                   start_tls=False) as client:
            await client.sendmail(FROM, TO, BODY)

    try:
        asyncio.run(send())
    except aiosmtplib.SMTPException as error:
        return error
    return None


def settled(recorder: Recorder, attempts: int) -> Timeline:
    return recorder.wait_for(
        lambda t: len(t.attempts) >= attempts and all(a.end_ns for a in t.attempts), 10.0)


def next_attempt(proxy: object, attempt: int) -> None:
    """On a real Toxiproxy, per-attempt toxics are switched between attempts: a client
    reconnecting at once races the switch (docs/chaos.md), so the test waits for it."""
    wait = getattr(proxy, "wait_installed", None)
    if wait is not None:
        wait(attempt)


def toxic_texts(timeline: Timeline, attempt: int) -> list[str]:
    return [e.text for e in timeline.attempt(attempt).of_kind("toxic")]


# -- mid-DATA reset via limit_data ------------------------------------------------------

CUT = Toxic(type="limit_data", stream="upstream", attributes={"bytes": 10_000}, attempts=1)


def test_smtplib_cut_mid_data_then_control_twin(
    backend: BackendFactory, smtp: FakeSMTPServer, recorder: Recorder
) -> None:
    proxy = backend((smtp.host, smtp.port), [CUT])
    assert isinstance(send_smtplib(proxy.host, proxy.port), smtplib.SMTPServerDisconnected)
    next_attempt(proxy, 2)
    assert send_smtplib(proxy.host, proxy.port) is None  # attempt 2: no toxic
    timeline = settled(recorder, 2)
    assert len(timeline.messages) == 1 and timeline.messages[0].attempt == 2
    first, second = timeline.attempt(1), timeline.attempt(2)
    assert 0 < first.data_bytes < len(BODY) and second.data_bytes == len(BODY)
    if getattr(backend, "kind", "") == "embedded":
        assert first.closed_by == "proxy-close"
        cut = [e for e in first.of_kind("toxic") if "cut" in e.text]
        assert cut[0].data["offset"] == 10_000 and cut[0].data["stream"] == "upstream"
        assert toxic_texts(timeline, 2) == []


def test_aiosmtplib_cut_mid_data_then_control_twin(
    backend: BackendFactory, smtp: FakeSMTPServer, recorder: Recorder
) -> None:
    proxy = backend((smtp.host, smtp.port), [CUT])
    assert isinstance(send_aiosmtplib(proxy.host, proxy.port),
                      aiosmtplib.SMTPServerDisconnected)
    next_attempt(proxy, 2)
    assert send_aiosmtplib(proxy.host, proxy.port) is None
    timeline = settled(recorder, 2)
    assert [m.attempt for m in timeline.messages] == [2]


# -- a slow link: bandwidth and latency -------------------------------------------------

SLOW = [Toxic(type="bandwidth", stream="upstream", attributes={"rate": 40}),  # 40 KB/s
        Toxic(type="latency", attributes={"latency": 50})]


@pytest.mark.parametrize("send", [send_smtplib, send_aiosmtplib])
def test_slow_link_takes_longer_than_its_control_twin(
    backend: BackendFactory, smtp: FakeSMTPServer, recorder: Recorder, send: object
) -> None:
    assert callable(send)
    control = backend((smtp.host, smtp.port))
    start = time.monotonic()
    assert send(control.host, control.port) is None
    fast = time.monotonic() - start
    slow_proxy = backend((smtp.host, smtp.port), SLOW)
    start = time.monotonic()
    assert send(slow_proxy.host, slow_proxy.port) is None
    slow = time.monotonic() - start
    # 20 KB at 40 KB/s is 0.5 s, and at least 5 replies each 50 ms late.
    assert slow >= 0.5 + 5 * 0.05 - 0.01
    assert fast < slow
    assert len(settled(recorder, 2).messages) == 2


# -- a black hole: timeout 0 ------------------------------------------------------------

HOLE = Toxic(type="timeout", attributes={"timeout": 0}, attempts=1)


def test_smtplib_blackhole_times_out_then_control_twin(
    backend: BackendFactory, smtp: FakeSMTPServer, recorder: Recorder
) -> None:
    proxy = backend((smtp.host, smtp.port), [HOLE])
    error = send_smtplib(proxy.host, proxy.port, timeout=0.5)
    # smtplib reports the banner read timing out as a disconnection.
    assert isinstance(error, smtplib.SMTPServerDisconnected) and "timed out" in str(error)
    next_attempt(proxy, 2)
    assert send_smtplib(proxy.host, proxy.port) is None
    assert [m.attempt for m in settled(recorder, 2).messages] == [2]


def test_aiosmtplib_blackhole_times_out_then_control_twin(
    backend: BackendFactory, smtp: FakeSMTPServer, recorder: Recorder
) -> None:
    proxy = backend((smtp.host, smtp.port), [HOLE])
    assert isinstance(send_aiosmtplib(proxy.host, proxy.port, timeout=0.5),
                      aiosmtplib.SMTPTimeoutError)
    next_attempt(proxy, 2)
    assert send_aiosmtplib(proxy.host, proxy.port) is None
    assert [m.attempt for m in settled(recorder, 2).messages] == [2]


# -- per attempt, recorded on the attempt -----------------------------------------------


def test_reset_peer_on_attempts_1_2_is_recorded_per_attempt(
    smtp: FakeSMTPServer, recorder: Recorder
) -> None:
    rst = Toxic(type="reset_peer", attributes={"timeout": 0}, attempts="1-2")
    with ChaosProxy((smtp.host, smtp.port), [rst], recorder=recorder, seed=SEED) as proxy:
        errors = [send_smtplib(proxy.host, proxy.port) for _ in range(3)]
    assert isinstance(errors[0], (smtplib.SMTPServerDisconnected, ConnectionResetError))
    assert isinstance(errors[1], (smtplib.SMTPServerDisconnected, ConnectionResetError))
    assert errors[2] is None
    timeline = settled(recorder, 3)
    for attempt in (1, 2):
        assert timeline.attempt(attempt).closed_by == "proxy-reset"
        assert any(t.endswith("RST sent") for t in toxic_texts(timeline, attempt))
        assert timeline.attempt(attempt).commands == []  # the banner never got through
    assert toxic_texts(timeline, 3) == []
    assert timeline.attempt(3).closed_by == "client-quit"
    assert len(timeline.attempts) == 3  # proxy and server agreed on every number


def test_down_for_attempt_1_resets_at_accept(smtp: FakeSMTPServer, recorder: Recorder) -> None:
    with ChaosProxy((smtp.host, smtp.port), recorder=recorder, down=1) as proxy:
        assert isinstance(send_smtplib(proxy.host, proxy.port),
                          (smtplib.SMTPServerDisconnected, ConnectionResetError))
        assert send_smtplib(proxy.host, proxy.port) is None
    timeline = settled(recorder, 2)
    assert timeline.attempt(1).closed_by == "proxy-reset"
    assert [m.attempt for m in timeline.messages] == [2]


def test_same_seed_same_toxicity_rolls() -> None:
    def rolls(seed: int) -> list[bool]:
        recorder = Recorder()
        half = Toxic(type="latency", attributes={"latency": 1}, toxicity=0.5)
        with FakeSMTPServer(recorder=recorder) as server, ChaosProxy(
            (server.host, server.port), [half], recorder=recorder, seed=seed
        ) as proxy:
            for _ in range(12):
                assert send_smtplib(proxy.host, proxy.port) is None
        timeline = settled(recorder, 12)
        return [bool(e.data["applied"]) for a in timeline.attempts
                for e in a.of_kind("toxic") if e.data.get("applied") is not None]

    first = rolls(7)
    assert len(first) == 12 and 0 < sum(first) < 12
    assert rolls(7) == first
    assert rolls(8) != first


def test_ipv6_loopback_end_to_end(recorder: Recorder) -> None:
    with FakeSMTPServer(host="::1", recorder=recorder) as server, ChaosProxy(
        (server.host, server.port), listen="[::1]:0", recorder=recorder, seed=SEED
    ) as proxy:
        assert proxy.host == "::1"
        assert send_smtplib(proxy.host, proxy.port) is None
    timeline = settled(recorder, 1)
    assert len(timeline.attempts) == 1 and timeline.attempt(1).closed_by == "client-quit"


# -- the proxy on the fake server's own loop thread -----------------------------------------


def test_proxy_on_the_servers_thread_cuts_then_delivers(
    smtp: FakeSMTPServer, recorder: Recorder
) -> None:
    proxy = ChaosProxy((smtp.host, smtp.port), [CUT], name="guest", recorder=recorder,
                       seed=SEED).start(on=smtp.thread)
    try:  # no thread of its own (which would be named after it)
        assert not [t for t in threading.enumerate() if t.name == "chaos-proxy guest"]
        assert send_smtplib(proxy.host, proxy.port) is not None  # attempt 1: cut mid-DATA
        assert send_smtplib(proxy.host, proxy.port) is None  # its control twin: delivered
    finally:
        proxy.stop()
    timeline = settled(recorder, 2)
    assert toxic_texts(timeline, 1) and not toxic_texts(timeline, 2)
    assert [m.attempt for m in timeline.messages] == [2]
    assert send_smtplib(smtp.host, smtp.port) is None  # the server outlives its proxy


def test_a_server_stopped_first_stops_its_proxy_first(recorder: Recorder) -> None:
    server = FakeSMTPServer(recorder=recorder).start()
    proxy = ChaosProxy((server.host, server.port), recorder=recorder,
                       seed=SEED).start(on=server.thread)
    with socket.create_connection((proxy.host, proxy.port), timeout=5) as client:
        proxy.wait_connections(1)
        server.stop()  # the proxy's loop stops under it: the proxy closes first
        assert not proxy.running and proxy.connections == 0
        assert read_to_end(client).end in ("eof", "rst")
    proxy.stop()  # nothing left to do
