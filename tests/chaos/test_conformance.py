"""One test per toxic and attribute, over real sockets, against every backend.

Each fault test has a control twin without the toxic. Timing bounds: the lower bound is
the toxic's own figure (minus a few ms of timer slack), the upper bound is loose.
"""

from __future__ import annotations

import socket
import time

import pytest

from harness.chaos import Toxic
from tests.chaos.conftest import BackendFactory
from tests.chaos.upstream import EchoServer, connect, count_reads, read_to_end, read_until

SLACK = 0.005  # timers may fire a few ms early on some clocks


def round_trip(sock: socket.socket, payload: bytes = b"ping\n") -> float:
    start = time.monotonic()
    sock.sendall(payload)
    data, _ = read_until(sock, len(payload))
    assert data == payload
    return time.monotonic() - start


def toxic(type: str, stream: str = "downstream", **attributes: int) -> Toxic:
    return Toxic(type=type, stream=stream, attributes=attributes)


# -- control ---------------------------------------------------------------------------


def test_no_toxic_passes_bytes_quickly(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address)
    with connect(proxy.host, proxy.port) as sock:
        assert round_trip(sock) < 0.5
        payload = bytes(range(256)) * 400
        sock.sendall(payload)
        assert read_until(sock, len(payload))[0] == payload


# -- latency ---------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_latency_delays_each_round_trip(
    backend: BackendFactory, echo: EchoServer, stream: str
) -> None:
    proxy = backend(echo.address, [toxic("latency", stream, latency=200)])
    with connect(proxy.host, proxy.port) as sock:
        for _ in range(2):
            assert 0.2 - SLACK <= round_trip(sock) < 2.0


def test_latency_jitter_varies_the_delay_within_bounds(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("latency", latency=100, jitter=50)])
    with connect(proxy.host, proxy.port) as sock:
        trips = [round_trip(sock) for _ in range(12)]
    assert min(trips) >= 0.05 - SLACK
    assert max(trips) < 2.0
    assert max(trips) - min(trips) > 0.01  # not the same delay every time


def test_latency_toxics_in_both_directions_add_up(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("latency", "upstream", latency=100),
                                   toxic("latency", latency=150)])
    with connect(proxy.host, proxy.port) as sock:
        assert 0.25 - SLACK <= round_trip(sock) < 2.5


# -- bandwidth -------------------------------------------------------------------------


def test_bandwidth_rate_limits_throughput(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address, [toxic("bandwidth", rate=10)])  # 10 KB/s
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"x" * 5000)
        data, took = read_until(sock, 5000)
    assert data == b"x" * 5000
    assert 0.4 - SLACK <= took < 5.0  # 5000 bytes at 10 bytes/ms, in 1000-byte slices


def test_bandwidth_rate_upstream_limits_what_the_server_gets(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("bandwidth", "upstream", rate=20)])
    with connect(proxy.host, proxy.port) as sock:
        start = time.monotonic()
        sock.sendall(b"y" * 6000)
        data, _ = read_until(sock, 6000)
        took = time.monotonic() - start
    assert data == b"y" * 6000
    assert 0.2 - SLACK <= took < 5.0


# -- slow_close ------------------------------------------------------------------------


def test_slow_close_delays_the_close(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address, [toxic("slow_close", delay=1000)])
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"bye\n")  # the upstream closes at once
        got = read_to_end(sock)
    assert got.end == "eof"
    assert 1.0 - SLACK <= got.at < 6.0


def test_control_close_is_immediate(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address)
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"bye\n")
        got = read_to_end(sock)
    assert got.end == "eof"
    assert got.at < 1.0


# -- timeout ---------------------------------------------------------------------------


def test_timeout_drops_data_then_closes(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address, [toxic("timeout", timeout=300)])
    with connect(proxy.host, proxy.port) as sock:
        start = time.monotonic()
        sock.sendall(b"ping\n")
        got = read_to_end(sock)
        took = time.monotonic() - start
    assert got.data == b""
    assert got.end == "eof"
    assert 0.3 - SLACK <= took < 3.0


def test_timeout_zero_never_closes_until_removed(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("timeout", timeout=0)])
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"ping\n")
        assert read_to_end(sock, timeout=0.5).end == "open"
        proxy.remove_toxic("timeout_downstream")  # removing a timeout closes, as upstream
        got = read_to_end(sock)
    assert (got.data, got.end) == (b"", "eof")


# -- reset_peer ------------------------------------------------------------------------


def test_reset_peer_sends_rst_on_first_data(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address, [toxic("reset_peer", timeout=0)])
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"ping\n")
        got = read_to_end(sock)
    assert (got.data, got.end) == (b"", "rst")


def test_reset_peer_timeout_waits_after_first_data(
    backend: BackendFactory, greeter: EchoServer
) -> None:
    proxy = backend(greeter.address, [toxic("reset_peer", timeout=300)])
    with connect(proxy.host, proxy.port) as sock:
        got = read_to_end(sock)  # the greeting is the first data: swallowed, then RST
    assert (got.data, got.end) == (b"", "rst")
    assert 0.3 - SLACK <= got.at < 3.0


def test_control_close_is_a_fin(backend: BackendFactory, greeter: EchoServer) -> None:
    proxy = backend(greeter.address)
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"bye\n")
        got = read_to_end(sock)
    assert (got.data, got.end) == (b"220 hello\r\n", "eof")


# -- slicer ----------------------------------------------------------------------------


def test_slicer_average_size_splits_into_pieces(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("slicer", average_size=10, delay=20_000)])
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"z" * 200)
        assert count_reads(sock, 200) >= 5


def test_slicer_delay_waits_after_each_piece(backend: BackendFactory, echo: EchoServer) -> None:
    # 200 bytes in pieces of at most 10 (average 8, variation 2): >= 20 pieces of 25 ms.
    proxy = backend(echo.address,
                    [toxic("slicer", average_size=8, size_variation=2, delay=25_000)])
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"z" * 200)
        data, took = read_until(sock, 200)
    assert data == b"z" * 200
    assert 0.5 - SLACK <= took < 10.0


def test_control_200_bytes_arrive_quickly(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address)
    with connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"z" * 200)
        data, took = read_until(sock, 200)
    assert data == b"z" * 200
    assert took < 0.5


# -- limit_data ------------------------------------------------------------------------


def test_limit_data_bytes_cuts_downstream_at_the_offset(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("limit_data", bytes=10)])
    with connect(proxy.host, proxy.port) as sock:
        for _ in range(2):
            assert round_trip(sock, b"abcd") < 2.0
        sock.sendall(b"wxyz")
        got = read_to_end(sock)
    assert (got.data, got.end) == (b"wx", "eof")


def test_limit_data_bytes_cuts_upstream_at_the_offset(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("limit_data", "upstream", bytes=6)])
    with connect(proxy.host, proxy.port) as sock:
        assert round_trip(sock, b"abcd") < 2.0
        sock.sendall(b"efgh")
        got = read_to_end(sock)
    assert got.end == "eof"
    echo.wait_finished(1)
    assert bytes(echo.received[-1]) == b"abcdef"


# -- toxicity and the proxy itself -----------------------------------------------------


def test_toxicity_zero_never_applies(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address,
                    [Toxic(type="latency", attributes={"latency": 1000}, toxicity=0.0)])
    with connect(proxy.host, proxy.port) as sock:
        assert round_trip(sock) < 1.0


def test_toxic_added_to_a_live_connection_applies_at_once(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address)
    with connect(proxy.host, proxy.port) as sock:
        assert round_trip(sock) < 0.5
        proxy.add_toxic(toxic("latency", latency=500))
        assert round_trip(sock) >= 0.5 - SLACK
        proxy.update_toxic("latency_downstream", {"latency": 0})
        assert round_trip(sock) < 0.5


def test_disabled_proxy_refuses_then_serves_on_the_same_port(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address)
    port = proxy.port
    with connect(proxy.host, port) as live:
        assert round_trip(live) < 1.0
        proxy.disable()
        assert read_to_end(live).end in ("eof", "rst")  # live connections are dropped
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.host, port).close()
    proxy.enable()
    assert proxy.port == port
    with connect(proxy.host, port) as sock:
        assert round_trip(sock) < 1.0


# -- changes on live connections -------------------------------------------------------


def test_limit_data_update_keeps_the_count(backend: BackendFactory, echo: EchoServer) -> None:
    proxy = backend(echo.address, [toxic("limit_data", bytes=10)])
    with connect(proxy.host, proxy.port) as sock:
        for _ in range(2):
            assert round_trip(sock, b"abcd") < 2.0  # 8 of 10 bytes used
        proxy.update_toxic("limit_data_downstream", {"bytes": 12})
        sock.sendall(b"efghijkl")
        got = read_to_end(sock)
    assert (got.data, got.end) == (b"efgh", "eof")  # 12 in all, not 12 more


def test_removing_latency_releases_the_held_chunk(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("latency", latency=3000)])
    with connect(proxy.host, proxy.port) as sock:
        start = time.monotonic()
        sock.sendall(b"ping\n")
        proxy.remove_toxic("latency_downstream")
        data, _ = read_until(sock, 5)
        assert data == b"ping\n"
        assert time.monotonic() - start < 2.5


def test_control_latency_holds_the_chunk_while_present(
    backend: BackendFactory, echo: EchoServer
) -> None:
    proxy = backend(echo.address, [toxic("latency", latency=1000)])
    with connect(proxy.host, proxy.port) as sock:
        assert round_trip(sock) >= 1.0 - SLACK
