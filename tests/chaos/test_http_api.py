"""The Toxiproxy HTTP API of the embedded proxies: shapes, status codes, bad input, and
toxiproxy-python driving it."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import toxiproxy
import toxiproxy.exceptions

from harness.chaos.api import ToxiproxyAPI
from tests.chaos.upstream import EchoServer, connect, read_to_end


def call(api: ToxiproxyAPI, method: str, path: str, body: object = None,
         raw: bytes | None = None, headers: dict[str, str] | None = None
         ) -> tuple[int, Any, str]:
    """Status, decoded body (or text) and content type of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(api.url + path, data=data, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text, kind = response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        status, text, kind = error.code, error.read(), error.headers["Content-Type"]
        error.close()
    try:
        return status, json.loads(text), kind
    except ValueError:
        return status, text.decode(), kind


@pytest.fixture
def proxy_name(api: ToxiproxyAPI, echo: EchoServer) -> Iterator[str]:
    status, body, _ = call(api, "POST", "/proxies", {
        "name": "echo", "listen": "127.0.0.1:0", "upstream": "{}:{}".format(*echo.address)})
    assert status == 201
    assert body["listen"] != "127.0.0.1:0" and body["toxics"] == []
    yield "echo"
    call(api, "DELETE", "/proxies/echo")


def test_version(api: ToxiproxyAPI) -> None:
    assert call(api, "GET", "/version")[:2] == (200, {"version": "2.12.0"})


def test_proxy_and_toxic_shapes(api: ToxiproxyAPI, proxy_name: str) -> None:
    status, toxic, _ = call(api, "POST", f"/proxies/{proxy_name}/toxics",
                            {"type": "latency", "stream": "UPSTREAM",
                             "attributes": {"latency": 300}})
    assert status == 200  # not 201, as Toxiproxy
    assert toxic == {"attributes": {"latency": 300, "jitter": 0}, "name": "latency_UPSTREAM",
                     "type": "latency", "stream": "UPSTREAM", "toxicity": 1}
    call(api, "POST", f"/proxies/{proxy_name}/toxics", {"type": "slicer", "name": "s",
                                                         "attributes": {"average_size": 5}})
    status, listed, _ = call(api, "GET", f"/proxies/{proxy_name}/toxics")
    assert [t["name"] for t in listed] == ["latency_UPSTREAM", "s"]
    assert listed[1]["attributes"] == {"average_size": 5, "size_variation": 0, "delay": 0}
    status, updated, _ = call(api, "PATCH", f"/proxies/{proxy_name}/toxics/latency_UPSTREAM",
                              {"attributes": {"jitter": 10}, "toxicity": 0.5})
    assert (status, updated["attributes"], updated["toxicity"]) == (
        200, {"latency": 300, "jitter": 10}, 0.5)
    status, proxies, _ = call(api, "GET", "/proxies")
    assert status == 200 and set(proxies[proxy_name]) >= {
        "name", "listen", "upstream", "enabled", "toxics"}
    assert call(api, "DELETE", f"/proxies/{proxy_name}/toxics/s")[0] == 204
    assert call(api, "POST", "/reset")[0] == 204
    assert call(api, "GET", f"/proxies/{proxy_name}/toxics")[1] == []


def test_disable_and_enable_through_the_api(api: ToxiproxyAPI, proxy_name: str) -> None:
    listen = call(api, "GET", f"/proxies/{proxy_name}")[1]["listen"]
    host, port = listen.rsplit(":", 1)
    assert call(api, "POST", f"/proxies/{proxy_name}", {"enabled": False})[1]["enabled"] is False
    with pytest.raises(ConnectionRefusedError):
        connect(host, int(port)).close()
    assert call(api, "PATCH", f"/proxies/{proxy_name}", {"enabled": True})[1]["listen"] == listen
    connect(host, int(port)).close()


BAD_REQUESTS = [
    ("unknown toxic type", "POST", "/proxies/echo/toxics", {"type": "latncy"}, 400,
     "invalid toxic type"),
    ("negative latency", "POST", "/proxies/echo/toxics",
     {"type": "latency", "attributes": {"latency": -5}}, 400, "negative"),
    ("missing attribute", "POST", "/proxies/echo/toxics", {"type": "latency"}, 400,
     "missing required attribute 'latency'"),
    ("float attribute", "POST", "/proxies/echo/toxics",
     {"type": "latency", "attributes": {"latency": 1.5}}, 400, "must be an integer"),
    ("bad stream", "POST", "/proxies/echo/toxics", {"type": "noop", "stream": "sideways"},
     400, "stream was invalid"),
    ("slicer that crashes Toxiproxy", "POST", "/proxies/echo/toxics",
     {"type": "slicer", "attributes": {"average_size": 0}}, 400, "average_size"),
    ("toxicity out of range", "POST", "/proxies/echo/toxics",
     {"type": "noop", "toxicity": 7}, 400, "toxicity"),
    ("unknown proxy", "GET", "/proxies/nope", None, 404, "proxy not found"),
    ("toxic on unknown proxy", "POST", "/proxies/nope/toxics", {"type": "noop"}, 404,
     "proxy not found"),
    ("unknown toxic", "DELETE", "/proxies/echo/toxics/nope", None, 404, "toxic not found"),
    ("proxy without name", "POST", "/proxies", {"upstream": "127.0.0.1:1"}, 400,
     "missing required field: name"),
    ("proxy without upstream", "POST", "/proxies", {"name": "x"}, 400,
     "missing required field: upstream"),
    ("duplicate proxy", "POST", "/proxies", {"name": "echo", "upstream": "127.0.0.1:1"},
     409, "proxy already exists"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"),
                         [case[1:] for case in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_input_gets_toxiproxy_error(
    api: ToxiproxyAPI, proxy_name: str, method: str, path: str, body: object, status: int,
    message: str,
) -> None:
    got, reply, kind = call(api, method, path, body)
    assert (got, reply["status"]) == (status, status)
    assert message in reply["error"]
    assert kind == "text/plain; charset=utf-8"  # as Go's http.Error labels it
    assert call(api, "GET", f"/proxies/{proxy_name}")[0] == 200  # still serving


def test_duplicate_toxic_is_409(api: ToxiproxyAPI, proxy_name: str) -> None:
    toxic = {"type": "noop"}
    assert call(api, "POST", f"/proxies/{proxy_name}/toxics", toxic)[0] == 200
    assert call(api, "POST", f"/proxies/{proxy_name}/toxics", toxic)[1] == {
        "error": "toxic already exists", "status": 409}


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"type": '])
def test_malformed_json_is_400(api: ToxiproxyAPI, proxy_name: str, raw: bytes) -> None:
    status, reply, _ = call(api, "POST", f"/proxies/{proxy_name}/toxics", raw=raw)
    assert status == 400 and reply["error"].startswith("bad request body")


def test_routing_errors(api: ToxiproxyAPI) -> None:
    assert call(api, "GET", "/nowhere")[:2] == (404, "404 page not found\n")
    assert call(api, "PUT", "/proxies")[:2] == (405, "")
    assert call(api, "GET", "/version", headers={"User-Agent": "Mozilla/5.0"})[0] == 403


def test_populate_creates_keeps_and_validates(api: ToxiproxyAPI, echo: EchoServer) -> None:
    upstream = "{}:{}".format(*echo.address)
    status, body, _ = call(api, "POST", "/populate", [
        {"name": "p1", "upstream": upstream}, {"name": "p2", "upstream": upstream}])
    assert status == 201 and [p["name"] for p in body["proxies"]] == ["p1", "p2"]
    status, again, _ = call(api, "POST", "/populate", [{"name": "p1", "upstream": upstream}])
    assert again["proxies"][0]["listen"] == body["proxies"][0]["listen"]  # kept
    status, bad, _kind = call(api, "POST", "/populate", [{"name": "p3", "upstream": upstream},
                                                        {"upstream": upstream}])
    assert (status, bad) == (400, {"error": "missing required field: name at proxy 2",
                                   "status": 400, "proxies": None})
    assert "p3" not in call(api, "GET", "/proxies")[1]
    assert call(api, "POST", "/populate", [])[1] == {"proxies": None}
    for name in ("p1", "p2"):
        assert call(api, "DELETE", f"/proxies/{name}")[0] == 204


def test_listen_failure_is_500(api: ToxiproxyAPI) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, body, _ = call(api, "POST", "/proxies", {
            "name": "clash", "listen": f"127.0.0.1:{port}", "upstream": "127.0.0.1:1"})
    assert status == 500 and body["error"].startswith("listen tcp")
    assert "clash" not in call(api, "GET", "/proxies")[1]


def test_upstream_unreachable_accepts_then_closes(api: ToxiproxyAPI) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]  # bound, never listening: connects are refused
        _, body, _ = call(api, "POST", "/proxies", {"name": "dead",
                                                    "upstream": f"127.0.0.1:{dead}"})
        host, port = body["listen"].rsplit(":", 1)
        with connect(host, int(port)) as sock:
            assert read_to_end(sock).end == "eof"
    assert call(api, "DELETE", "/proxies/dead")[0] == 204


def test_toxiproxy_python_drives_the_embedded_api(api: ToxiproxyAPI, echo: EchoServer) -> None:
    server = toxiproxy.Toxiproxy()
    server.update_api_consumer(api.host, api.port)
    assert server.running()
    assert json.loads(server.version()) == {"version": "2.12.0"}
    proxy = server.create(upstream="{}:{}".format(*echo.address), name="tp")
    try:
        proxy.add_toxic(type="limit_data", attributes={"bytes": 3})
        assert proxy.get_toxic("limit_data_downstream").attributes == {"bytes": 3}
        host, port = proxy.listen.rsplit(":", 1)
        with connect(host, int(port)) as sock:
            sock.sendall(b"hello")
            got = read_to_end(sock)
        assert (got.data, got.end) == (b"hel", "eof")
        with pytest.raises(toxiproxy.exceptions.InvalidToxic):
            proxy.add_toxic(type="nonsense")
        with pytest.raises(toxiproxy.exceptions.ProxyExists):
            proxy.add_toxic(type="limit_data", attributes={"bytes": 3})
        assert proxy.destroy_toxic("limit_data_downstream")
        with proxy.down(), pytest.raises(ConnectionRefusedError):
            connect(host, int(port)).close()
        with connect(host, int(port)) as sock:
            sock.sendall(b"hello")
            assert sock.recv(5) == b"hello"
        assert server.reset()
    finally:
        proxy.destroy()
    assert server.get_proxy("tp") is None


def test_the_api_serves_a_proxy_made_in_code(echo: EchoServer) -> None:
    from harness.chaos import ChaosProxy
    from harness.chaos.errors import ChaosError
    from tests.chaos.test_conformance import round_trip

    with ToxiproxyAPI(seed=1) as api:
        proxy = api.add(ChaosProxy(echo.address, name="mine", seed=1))
        server = toxiproxy.Toxiproxy()
        server.update_api_consumer(api.host, api.port)
        driven = server.get_proxy("mine")
        assert driven is not None and driven.listen == proxy.listen
        with connect(proxy.host, proxy.port) as sock:
            assert round_trip(sock) < 1.0  # the control, before the toxic
            driven.add_toxic(type="latency", attributes={"latency": 300})
            assert round_trip(sock) >= 0.3 - 0.005
        assert [t.name for t in proxy.toxics] == ["latency_downstream"]
        with ChaosProxy(echo.address, name="started") as running, pytest.raises(
                ChaosError, match="before starting it"):
            api.add(running)
    with pytest.raises(ConnectionRefusedError):  # the proxy stopped with the API
        connect(proxy.host, proxy.port).close()
