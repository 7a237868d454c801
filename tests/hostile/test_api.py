"""The Toxiproxy-compatible HTTP API under hostile requests and concurrency: every
request gets an answer with the right status, one ``201`` per name, no listener
without its proxy, and nothing a request sends can exhaust or crash it."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from harness.chaos.api import MAX_BODY, MAX_JSON_DEPTH, ToxiproxyAPI
from tests.chaos.upstream import EchoServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def api() -> Iterator[ToxiproxyAPI]:
    with ToxiproxyAPI(seed=16) as server:
        yield server


@pytest.fixture
def upstream() -> Iterator[str]:
    echo = EchoServer()
    yield "{}:{}".format(*echo.address)
    echo.stop()


def raw(api: ToxiproxyAPI, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are; the status and body of the answer (0 if none came)."""
    with socket.create_connection((api.host, api.port), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = bytearray()
        while chunk := sock.recv(65536):
            answer += chunk
    if not answer:
        return 0, b""
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def send(api: ToxiproxyAPI, method: str, path: str, body: object = None) -> int:
    data = b"" if body is None else json.dumps(body).encode()
    return raw(api, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}"
                    "\r\n\r\n".encode() + data)[0]


def listening_ports() -> set[int]:
    """TCP ports this process listens on (its socket inodes matched in /proc/net)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def listed_ports(api: ToxiproxyAPI) -> set[int]:
    return {int(p.listen.rsplit(":", 1)[1]) for p in api.proxies.values() if p.enabled}


def in_threads(count: int, work: object) -> None:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            work(index)  # type: ignore[operator]
        except BaseException as error:  # kept for the assert below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_eight_threads_creating_one_name_get_one_201(api: ToxiproxyAPI, upstream: str) -> None:
    before = listening_ports()
    names = [f"race-{n}" for n in range(4)]
    statuses: dict[str, list[int]] = {name: [] for name in names}

    def create_all(index: int) -> None:
        for name in random.Random(index).sample(names, len(names)):
            statuses[name].append(send(api, "POST", "/proxies",
                                       {"name": name, "upstream": upstream}))

    in_threads(8, create_all)
    assert {name: Counter(s) for name, s in statuses.items()} == {
        name: Counter({201: 1, 409: 7}) for name in names}
    assert listening_ports() - before == listed_ports(api)
    assert len(listed_ports(api)) == len(names)


def test_create_delete_and_toxics_racing_leave_no_orphan_listener(
        api: ToxiproxyAPI, upstream: str) -> None:
    before = listening_ports()
    names = [f"churn-{n}" for n in range(3)]
    seen: Counter[tuple[str, int]] = Counter()
    toxic = {"type": "latency", "name": "lag", "attributes": {"latency": 1}}

    def churn(index: int) -> None:
        pick = random.Random(index)
        for _ in range(40):
            name = pick.choice(names)
            operation, method, path, body = pick.choice([
                ("create", "POST", "/proxies", {"name": name, "upstream": upstream}),
                ("delete", "DELETE", f"/proxies/{name}", None),
                ("disable", "POST", f"/proxies/{name}", {"enabled": False}),
                ("enable", "POST", f"/proxies/{name}", {"enabled": True}),
                ("add toxic", "POST", f"/proxies/{name}/toxics", toxic),
                ("update toxic", "POST", f"/proxies/{name}/toxics/lag",
                 {"attributes": {"latency": 2}}),
                ("remove toxic", "DELETE", f"/proxies/{name}/toxics/lag", None),
            ])
            seen[operation, send(api, method, path, body)] += 1

    in_threads(8, churn)
    allowed = {"create": {201, 409}, "delete": {204, 404}, "disable": {200, 404},
               "enable": {200, 404}, "add toxic": {200, 404, 409},
               "update toxic": {200, 404}, "remove toxic": {204, 404}}
    assert {(op, status) for op, status in seen if status not in allowed[op]} == set()
    assert listening_ports() - before == listed_ports(api)
    for name in list(api.proxies):
        assert send(api, "DELETE", f"/proxies/{name}") == 204
    assert listening_ports() - before == set()


def test_concurrent_deletes_of_one_proxy_answer_204_once_then_404(
        api: ToxiproxyAPI, upstream: str) -> None:
    assert send(api, "POST", "/proxies", {"name": "doomed", "upstream": upstream}) == 201
    statuses: list[int] = []
    in_threads(8, lambda _: statuses.append(send(api, "DELETE", "/proxies/doomed")))
    assert Counter(statuses) == Counter({204: 1, 404: 7})
    assert send(api, "DELETE", "/proxies/doomed") == 404  # and again: same state, same answer


@pytest.mark.parametrize("length", [b"abc", b"1e3", b"-1", b"12, 13", b""])
def test_a_bad_content_length_is_400(api: ToxiproxyAPI, length: bytes) -> None:
    status, body = raw(api, b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: "
                       + length + b"\r\n\r\n{}")
    assert status == 400
    assert b"bad request" in body


def test_an_oversized_body_is_413_read_or_not(api: ToxiproxyAPI) -> None:
    big = b"x" * (10 * 1024 * 1024)
    declared = b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big)
    assert raw(api, declared + big)[0] == 413  # refused from its header, sent anyway
    chunked = (b"POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % (MAX_BODY + 1) + b"x" * (MAX_BODY + 1) + b"\r\n0\r\n\r\n")
    assert raw(api, chunked)[0] == 413  # refused once read past the limit
    assert send(api, "GET", "/version") == 200


def test_oversized_headers_are_431(api: ToxiproxyAPI) -> None:
    status, _ = raw(api, b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: "
                    + b"a" * (64 * 1024) + b"\r\n\r\n")
    assert status == 431


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_400(api: ToxiproxyAPI, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    status, answer = raw(api, b"POST /populate HTTP/1.1\r\nHost: x\r\nContent-Length: %d"
                         b"\r\n\r\n" % len(body) + body)
    assert status == 400
    assert b"nested deeper than 64 levels" in answer


def test_brackets_inside_strings_are_not_nesting(api: ToxiproxyAPI, upstream: str) -> None:
    name = "[" * 200 + "{" * 200
    assert send(api, "POST", "/proxies", {"name": name, "upstream": upstream}) == 201


def test_range_errors_name_the_real_problem(api: ToxiproxyAPI, upstream: str) -> None:
    assert send(api, "POST", "/proxies", {"name": "p", "upstream": upstream}) == 201
    for latency, words in ((10**30, b"latency is too large"), (-5, b"latency=-5 is negative")):
        status, body = raw(api, _post("/proxies/p/toxics", {
            "type": "latency", "attributes": {"latency": latency}}))
        assert status == 400 and words in body, body


def test_garbage_request_lines_get_an_answer(api: ToxiproxyAPI) -> None:
    for garbage in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n",
                    b"GET /version HTTP/1.1\r\nBad Header\r\n\r\n"):
        assert raw(api, garbage)[0] == 400, garbage
    assert send(api, "GET", "/version") == 200


def _post(path: str, body: object) -> bytes:
    data = json.dumps(body).encode()
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
