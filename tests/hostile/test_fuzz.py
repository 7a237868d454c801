"""Hypothesis fuzz of the two parsers that take input from strangers: the scenario
loader (arbitrary YAML documents, YAML-ish text and raw bytes: always a valid scenario
or a located ScenarioError, never anything else) and the HTTP API's request reader
(arbitrary bytes and near-miss requests: always an answer with a known status, or
nothing when the peer sent nothing)."""

from __future__ import annotations

import asyncio
import resource
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.chaos.api import ToxiproxyAPI
from harness.model import Scenario, ScenarioError

pytestmark = pytest.mark.timeout(300)
FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
MEMORY_BOUND_KIB = 200 * 1024  # growth of the test process's peak over a whole fuzz run


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the scenario loader -------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=20), st.sampled_from([
        "banner", "ehlo", "rcpt", "data", "421 4.7.0 busy", "1-2", "3+", "all", "starttls",
        "implicit", "once", "never", "1e9", "0x10", "~", "valid", "self-signed"]),
)
KEYS = st.sampled_from([
    "name", "about", "extends", "server", "faults", "network", "expect", "client", "seed",
    "tls", "certificate", "at", "attempts", "reply", "delay", "close", "reset", "toxic",
    "latency", "delivered", "backoff", "relax", "command", "timeout_s", "env", "nonsense"])
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(KEYS, inner, max_size=6)),
    max_leaves=40,
)
FRAGMENTS = st.lists(st.sampled_from([
    "name: x\n", "faults:\n", "  - ", "{", "}", "[", "]", ": ", ", ", "&a ", "*a", "&b ",
    "*b", "<<: ", "!!python/object ", "!!str ", "? ", "|\n  ", ">\n  ", "'", '"', "#",
    "%YAML 1.1\n", "---\n", "...\n", "\t", "\n", "  ", "1e9", "9" * 40, "\x00", "\x07",
    "\ufeff", "\udc80", "[" * 1000, "{a: " * 500, "9" * 5000, "&l [*l, *l, *l, *l] ",
    "extends: ", "/etc/passwd", "../x.yaml", "at: banner", "reply: 421", "- "]), max_size=40,
).map("".join)
YAMLISH = st.tuples(
    st.sampled_from(["", "name: x\nabout: ", "name: x\nfaults:\n  - ", "name: x\nseed: "]),
    FRAGMENTS).map("".join)


def load_or_error(text: str) -> None:
    try:
        Scenario.from_str(text)
    except ScenarioError as error:
        assert error.problems, "a ScenarioError always says what is wrong"
        assert {p.source for p in error.problems} <= {"<string>"} | {
            p.source for p in error.problems if p.source.startswith("builtin:")}


@FUZZ
@given(DOCUMENTS)
def test_any_yaml_document_loads_or_is_a_located_error(document: object) -> None:
    load_or_error(yaml.safe_dump(document))


@FUZZ
@given(YAMLISH)
def test_yaml_ish_text_loads_or_is_a_located_error(text: str) -> None:
    before = peak_kib()
    load_or_error(text)
    assert peak_kib() - before < MEMORY_BOUND_KIB


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_in_a_file_load_or_are_an_error(tmp_path_factory: pytest.TempPathFactory,
                                                  data: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "scenario.yaml"
    path.write_bytes(data)
    try:
        Scenario.from_path(path)
    except ScenarioError as error:
        assert error.problems


# -- the HTTP API's request reader ---------------------------------------------------------

METHODS = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "get", "", "G\x00T"])
PATHS = st.sampled_from(["/version", "/proxies", "/proxies/x", "/proxies/x/toxics",
                         "/proxies/x/toxics/t", "/reset", "/populate", "/", "*", "//",
                         "/proxies/%00", "/" + "a" * 5000])
HEADERS = st.lists(st.one_of(
    st.sampled_from(["Host: x", "Content-Length: 0", "Content-Length: 5", "Content-Length: -1",
                     "Content-Length: abc", "Content-Length: 1e3", "Content-Length: 99999999",
                     "Transfer-Encoding: chunked", "Transfer-Encoding: gzip",
                     "User-Agent: Mozilla/5.0", "Expect: 100-continue", "Connection: close",
                     "Bad Header", ": empty", "X: \x00"]),
    st.text(max_size=30)), max_size=6)
BODIES = st.one_of(st.binary(max_size=200), DOCUMENTS.map(lambda d: yaml.safe_dump(d).encode()),
                   st.sampled_from([b"{}", b"[]", b"[" * 200, b'{"name": "x"}', b"0\r\n\r\n"]))
REQUESTS = st.one_of(
    st.binary(max_size=500),
    st.tuples(METHODS, PATHS, HEADERS, BODIES).map(
        lambda r: f"{r[0]} {r[1]} HTTP/1.1\r\n".encode("utf-8", "surrogateescape")
        + "".join(h + "\r\n" for h in r[2]).encode("utf-8", "surrogateescape")
        + b"\r\n" + r[3]),
)
KNOWN = {200, 201, 204, 400, 403, 404, 405, 409, 413, 431, 500, 501, 505}


async def answer(api: ToxiproxyAPI, request: bytes) -> int | None:
    reader = asyncio.StreamReader()
    reader.feed_data(request)
    reader.feed_eof()
    response, _ = await api._read_and_handle(reader)
    return None if response is None else response.status


@FUZZ
@given(REQUESTS)
def test_any_request_bytes_get_a_known_status(request: bytes) -> None:
    async def one() -> int | None:
        api = ToxiproxyAPI(seed=1)
        try:
            return await answer(api, request)
        finally:
            await api.stop_async()  # any proxy a request made

    status = asyncio.run(one())
    assert status in KNOWN or (status is None and not request.strip()), (status, request[:80])
