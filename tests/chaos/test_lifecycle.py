"""Clients that half-close or reset at any moment, proxies stopped mid-flight, chains
changed under traffic: nothing is left behind (no task, no socket: ResourceWarning is an
error in this suite) and no byte is lost or duplicated."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from harness.chaos import ChaosProxy, Toxic
from harness.chaos.api import ToxiproxyAPI
from tests.chaos.conftest import SEED
from tests.chaos.upstream import EchoServer, connect, read_to_end, read_until

HOLDING = {
    "none": [],
    "latency": [Toxic(type="latency", attributes={"latency": 5_000})],
    "bandwidth": [Toxic(type="bandwidth", attributes={"rate": 1})],
    "slicer": [Toxic(type="slicer", attributes={"average_size": 1, "delay": 100_000})],
    "timeout": [Toxic(type="timeout", attributes={"timeout": 0})],
    "reset_peer": [Toxic(type="reset_peer", stream="upstream", attributes={"timeout": 500})],
    "slow_close": [Toxic(type="slow_close", stream="upstream", attributes={"delay": 500})],
    "limit_data": [Toxic(type="limit_data", attributes={"bytes": 100_000})],
}


def other_tasks(proxy: ChaosProxy) -> int:
    """Tasks alive on the proxy's loop besides the one asking."""
    async def count() -> int:
        return len(asyncio.all_tasks()) - 1

    assert proxy._loop is not None
    return asyncio.run_coroutine_threadsafe(count(), proxy._loop).result(10)


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("toxics", HOLDING.values(), ids=HOLDING.keys())
@pytest.mark.parametrize("when", ["at-once", "after-data"])
def test_client_reset_leaves_nothing_behind(
    echo: EchoServer, toxics: list[Toxic], when: str
) -> None:
    with ChaosProxy(echo.address, toxics, seed=SEED) as proxy:
        sock = connect(proxy.host, proxy.port)
        if when == "after-data":
            sock.sendall(b"x" * 3000)
        proxy.wait_connections(1)
        reset(sock)
        proxy.wait_connections(0)
        assert other_tasks(proxy) == 0


@pytest.mark.parametrize("toxics", HOLDING.values(), ids=HOLDING.keys())
def test_client_half_close_closes_both_sides(echo: EchoServer, toxics: list[Toxic]) -> None:
    with ChaosProxy(echo.address, toxics, seed=SEED) as proxy, \
            connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"ping\n")
        sock.shutdown(socket.SHUT_WR)  # as Toxiproxy: no half-close, the whole thing closes
        assert read_to_end(sock).end in ("eof", "rst")
        proxy.wait_connections(0)
        assert other_tasks(proxy) == 0


def test_control_without_half_close_stays_open(echo: EchoServer) -> None:
    with ChaosProxy(echo.address, seed=SEED) as proxy, connect(proxy.host, proxy.port) as sock:
        sock.sendall(b"ping\n")
        got = read_to_end(sock, timeout=0.3)
        assert (got.data, got.end) == (b"ping\n", "open")
        assert proxy.connections == 1


@pytest.mark.parametrize("toxics", HOLDING.values(), ids=HOLDING.keys())
def test_stop_with_live_connections_closes_everything(
    echo: EchoServer, toxics: list[Toxic]
) -> None:
    proxy = ChaosProxy(echo.address, toxics, seed=SEED).start()
    socks = [connect(proxy.host, proxy.port) for _ in range(5)]
    for sock in socks:
        sock.sendall(b"data")
    proxy.wait_connections(5)
    proxy.stop()
    for sock in socks:
        assert read_to_end(sock).end in ("eof", "rst")
        sock.close()


def test_changing_toxics_under_traffic_loses_and_repeats_nothing(echo: EchoServer) -> None:
    payload = bytes(range(256)) * 64  # 16 KiB per round
    with ChaosProxy(echo.address, seed=SEED) as proxy, connect(proxy.host, proxy.port) as sock:
        for round_ in range(12):
            sock.sendall(payload)
            if round_ % 3 == 0:
                proxy.add_toxic(Toxic(type="latency", attributes={"latency": 20}))
            elif round_ % 3 == 1:
                proxy.add_toxic(Toxic(type="slicer", attributes={"average_size": 500}))
                proxy.update_toxic("latency_downstream", {"latency": 1})
            else:
                proxy.remove_toxic("latency_downstream")
                proxy.remove_toxic("slicer_downstream")
            data, _ = read_until(sock, len(payload))
            assert data == payload


def test_api_survives_clients_that_hang_up_mid_request(api: ToxiproxyAPI) -> None:
    for partial in (b"", b"GET /ver", b"POST /proxies HTTP/1.1\r\nContent-Length: 50\r\n\r\n{"):
        sock = connect(api.host, api.port)
        sock.sendall(partial)
        reset(sock)
    with connect(api.host, api.port) as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        got = read_to_end(sock)
    assert got.data.startswith(b"HTTP/1.1 200 OK") and b'{"version": "2.12.0"}' in got.data
