"""Chaos-proxy figures: the embedded proxy beside a direct connection, in one run.

    python -m benchmarks.bench_chaos            # the full run, about a minute
    python -m benchmarks.bench_chaos --quick    # a smoke run, a few seconds

Every figure is measured through a :class:`ChaosProxy` with no toxics and, as the
reference, directly against the same upstream, alternating rounds so machine noise hits
both:

- bytes per second, one connection streaming from a source upstream to the client, and
  this process's CPU seconds per gigabyte (every thread) for the same stream;
- added round-trip latency, 1-byte ping-pong against an echo upstream (p50);
- SMTP transactions per second, smtplib-free: a blocking socket speaking SMTP one command
  at a time against FakeSMTPServer, one connection per message (target: >= 0.8 of direct),
  with the proxy on a thread of its own and with the proxy on the server's event loop;
- accuracy of a 100 ms ``latency`` toxic: round trip minus 100 ms minus the proxy's own
  no-toxic round trip, p50 and p99;
- connections held open at once through the proxy, each checked with a round trip
  (target: 1,000 without errors);
- on the Toxiproxy backend (driven through toxiproxy-python, here against the embedded
  API): the time from the fake server seeing an attempt end to the next attempt's toxics
  being installed, the window in which a client that reconnects at once races the switch;
- SMTP transactions per second and stream throughput through a real Toxiproxy with no
  toxics, against the embedded proxy as the harness runs it (on the fake server's loop
  thread), alternating rounds, with the SMTP client in a process of its own (as
  ``harness run`` runs one; target >= 1.25) and in this process, when ``TOXIPROXY_URL`` (a
  running server) or ``TOXIPROXY_BIN`` (its ``toxiproxy-server`` program, started on a
  free loopback port for the run) says where one is; skipped, and said so, otherwise.

The upstreams and the proxy run on their own event-loop threads; the clients run in the
main thread (asyncio for the latency and connection figures), but for that one client
process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks._figures import Figure
from harness.chaos import ChaosProxy, Toxic
from harness.chaos.api import ToxiproxyAPI
from harness.chaos.backend import ToxiproxyBackend
from harness.loop import LoopThread
from harness.smtp.server import FakeSMTPServer

MESSAGE = b"From: bench@example.org\r\nTo: sink@example.org\r\nSubject: bench\r\n\r\n" + (
    b"x" * 78 + b"\r\n") * 10
Address = tuple[str, int]


class Upstream:
    """An echo server, and a source that sends ``size`` bytes to each client then closes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.thread = LoopThread("bench-upstream")
        self.echo, self.source = self.thread.call(self._open())

    async def _open(self) -> tuple[Address, Address]:
        self._echo = await asyncio.start_server(self._serve_echo, "127.0.0.1", 0)
        self._source = await asyncio.start_server(self._serve_source, "127.0.0.1", 0)
        return _address(self._echo), _address(self._source)

    async def _serve_echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _nodelay(writer.get_extra_info("socket"))
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        writer.close()

    async def _serve_source(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        block = b"s" * 65536
        try:
            for _ in range(self.size // len(block)):
                writer.write(block)
                await writer.drain()
        except OSError:
            pass
        writer.close()

    async def _close(self) -> None:
        for server in (self._echo, self._source):
            server.close()
            await server.wait_closed()

    def stop(self) -> None:
        self.thread.call(self._close())
        self.thread.stop()


def _address(server: asyncio.Server) -> Address:
    name = server.sockets[0].getsockname()
    return str(name[0]), int(name[1])


def _nodelay(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# -- the measurements --------------------------------------------------------------------


def bytes_per_second(address: Address) -> float:
    return streamed(address)[0]


def streamed(address: Address) -> tuple[float, float]:
    """One stream's bytes per second, and this process's CPU seconds per gigabyte (user and
    system, every thread: the source, the proxy and the client all run here)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    total = 0
    with socket.create_connection(address, timeout=30) as sock:
        while data := sock.recv(262144):
            total += len(data)
    elapsed = time.perf_counter() - start
    now = resource.getrusage(resource.RUSAGE_SELF)
    cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
    return total / elapsed, cpu / (total / 1e9)


def round_trips(address: Address, count: int) -> list[float]:
    samples = []
    with socket.create_connection(address, timeout=30) as sock:
        _nodelay(sock)
        for _ in range(count):
            start = time.perf_counter()
            sock.sendall(b"p")
            if sock.recv(1) != b"p":
                raise RuntimeError("echo lost a byte")
            samples.append(time.perf_counter() - start)
    return samples


def smtp_transactions(address: Address, seconds: float) -> float:
    """Messages per second, one connection per message, one command at a time."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        with socket.create_connection(address, timeout=30) as sock:
            _nodelay(sock)
            stream = sock.makefile("rb")
            _reply(stream)
            for line in (b"EHLO bench\r\n", b"MAIL FROM:<a@example.org>\r\n",
                         b"RCPT TO:<b@example.org>\r\n", b"DATA\r\n"):
                sock.sendall(line)
                _reply(stream)
            sock.sendall(MESSAGE + b".\r\n")
            if not _reply(stream).startswith(b"250"):
                raise RuntimeError("message refused")
            sock.sendall(b"QUIT\r\n")
            _reply(stream)
            stream.close()
        done += 1
    return done / (time.perf_counter() - start)


def _reply(stream: object) -> bytes:
    readline: Callable[[], bytes] = stream.readline  # type: ignore[attr-defined]
    while (line := readline())[3:4] == b"-":
        pass
    if not line:
        raise RuntimeError("connection closed")
    return line


async def _ping(address: Address, count: int) -> list[float]:
    reader, writer = await asyncio.open_connection(*address)
    _nodelay(writer.get_extra_info("socket"))
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            writer.write(b"p")
            await reader.readexactly(1)
            samples.append(time.perf_counter() - start)
    finally:
        writer.close()
        await writer.wait_closed()
    return samples


async def parallel_pings(address: Address, connections: int, count: int) -> list[float]:
    results = await asyncio.gather(*(_ping(address, count) for _ in range(connections)))
    return [s for r in results for s in r]


async def hold_open(address: Address, count: int) -> tuple[int, int]:
    """Open ``count`` connections, keep them all open, round-trip on each; (ok, errors)."""
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    errors = 0
    for _ in range(count):
        try:
            opened.append(await asyncio.open_connection(*address))
        except OSError:
            errors += 1

    async def check(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        try:
            writer.write(b"held")
            return await asyncio.wait_for(reader.readexactly(4), 30) == b"held"
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            return False

    results = await asyncio.gather(*(check(r, w) for r, w in opened))
    for _, writer in opened:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for _, w in opened), return_exceptions=True)
    ok = sum(results)
    return ok, errors + len(results) - ok


def switch_times(attempts: int) -> list[float]:
    """Seconds from an attempt's end (seen by the server) to the next one's toxics."""
    odd = Toxic(type="latency", attributes={"latency": 0},
                attempts=list(range(1, attempts + 1, 2)))
    with ToxiproxyAPI() as api, FakeSMTPServer() as server:
        backend = ToxiproxyBackend(api.url, (server.host, server.port), [odd],
                                   recorder=server.recorder).start()
        try:
            for attempt in range(1, attempts + 1):
                with socket.create_connection((backend.host, backend.port), timeout=30) as sock:
                    stream = sock.makefile("rb")
                    stream.readline()
                    sock.sendall(b"QUIT\r\n")
                    stream.readline()
                    stream.close()
                backend.wait_installed(attempt + 1)
        finally:
            backend.stop()
    return [ns / 1e9 for _, ns in backend.switches]


# -- a real Toxiproxy, where the user points at one ------------------------------------------


@contextlib.contextmanager
def real_toxiproxy() -> Iterator[str | None]:
    """The API URL of a real Toxiproxy: ``TOXIPROXY_URL``, or ``TOXIPROXY_BIN`` started on
    a free loopback port for as long as this lasts; None when neither is set."""
    url = os.environ.get("TOXIPROXY_URL")
    program = os.environ.get("TOXIPROXY_BIN")
    if url or not program:
        yield url.rstrip("/") if url else None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([program, "-host", "127.0.0.1", "-port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                _api(url, "GET", "/version")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{program} did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _api(url: str, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text.strip() else None


@contextlib.contextmanager
def toxiproxy_proxy(url: str, name: str, upstream: Address) -> Iterator[Address]:
    """A proxy with no toxics on the real Toxiproxy at ``url``, listening on a free port."""
    made = _api(url, "POST", "/proxies", {"name": name, "listen": "127.0.0.1:0",
                                          "upstream": f"{upstream[0]}:{upstream[1]}"})
    assert isinstance(made, dict)
    host, _, port = str(made["listen"]).rpartition(":")
    try:
        yield host, int(port)
    finally:
        with contextlib.suppress(OSError):
            _api(url, "DELETE", f"/proxies/{name}")


def smtp_transactions_apart(address: Address, seconds: float) -> float:
    """:func:`smtp_transactions` from a client in a process of its own, as ``harness run``
    runs one: the harness's threads then have the interpreter lock to themselves."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, (root, os.environ.get("PYTHONPATH"))))}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_chaos", "--smtp-client",
         f"{address[0]}:{address[1]}", str(seconds)],
        env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return float(done.stdout)


def against_toxiproxy(quick: bool) -> list[Row]:
    """The embedded proxy as the harness runs it (on the fake server's loop thread)
    against a real Toxiproxy, both with no toxics, alternating rounds in one run."""
    with real_toxiproxy() as url:
        if url is None:
            return [Row("SMTP transactions/s against a real Toxiproxy", "", "skipped",
                        "skipped: set TOXIPROXY_URL or TOXIPROXY_BIN", ">= 1.25")]
        rounds = 2 if quick else 6
        seconds = 0.5 if quick else 2.0
        upstream = Upstream((16 if quick else 64) * 1024 * 1024 // rounds)
        server = FakeSMTPServer().start()
        ours = ChaosProxy((server.host, server.port), recorder=server.recorder,
                          seed=1).start(on=server.thread)
        stream = ChaosProxy(upstream.source, seed=1).start()
        version = _api(url, "GET", "/version")
        tag = f"{os.getpid()}-{time.monotonic_ns()}"
        clients = {"apart": smtp_transactions_apart, "inside": smtp_transactions}
        tps: dict[tuple[str, str], list[float]] = {
            (who, c): [] for who in ("ours", "real") for c in clients}
        bps: dict[str, list[float]] = {"ours": [], "real": []}
        try:
            with toxiproxy_proxy(url, f"bench-smtp-{tag}", (server.host, server.port)) as real, \
                    toxiproxy_proxy(url, f"bench-stream-{tag}", upstream.source) as real_stream:
                for round_ in range(rounds):
                    pairs = [("ours", (ours.host, ours.port), (stream.host, stream.port)),
                             ("real", real, real_stream)]
                    for who, smtp, source in pairs if round_ % 2 == 0 else pairs[::-1]:
                        for client, measure in clients.items():
                            tps[who, client].append(measure(smtp, seconds))
                        bps[who].append(bytes_per_second(source))
        finally:
            ours.stop()
            stream.stop()
            server.stop()
            upstream.stop()
    which = version.get("version", "?") if isinstance(version, dict) else str(version)
    rows = []
    for client, label, target in (
            ("apart", "client in a process of its own", ">= 1.25"),
            ("inside", "client a thread of the harness's process", "")):
        mine, theirs = tps["ours", client], tps["real", client]
        ratios = [o / r for o, r in zip(mine, theirs)]
        rows.append(Row(f"SMTP transactions/s against a real Toxiproxy {which}, {label}",
                        f"{statistics.median(theirs):.0f}", f"{statistics.median(mine):.0f}",
                        f"{statistics.median(ratios):.2f}", target))
    ratios = [o / r for o, r in zip(bps["ours"], bps["real"])]
    rows.append(Row(f"stream throughput (MB/s) against a real Toxiproxy {which}",
                    f"{statistics.median(bps['real']) / 1e6:.0f}",
                    f"{statistics.median(bps['ours']) / 1e6:.0f}",
                    f"{statistics.median(ratios):.2f}"))
    return rows


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    direct: str
    proxy: str
    ratio: str
    target: str = ""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run(quick: bool) -> list[Row]:
    rounds = 2 if quick else 5
    size = (16 if quick else 128) * 1024 * 1024 // rounds
    upstream = Upstream(size)
    server = FakeSMTPServer().start()
    echo_proxy = ChaosProxy(upstream.echo, seed=1).start()
    source_proxy = ChaosProxy(upstream.source, seed=1).start()
    smtp_proxy = ChaosProxy((server.host, server.port), recorder=server.recorder, seed=1).start()
    shared_server = FakeSMTPServer().start()  # a server and its proxy on one loop thread
    shared_proxy = ChaosProxy((shared_server.host, shared_server.port),
                              recorder=shared_server.recorder,
                              seed=1).start(on=shared_server.thread)
    slow_proxy = ChaosProxy(upstream.echo, [Toxic(type="latency", attributes={"latency": 100})],
                            seed=1).start()
    rows: list[Row] = []
    try:
        direct_bps: list[float] = []
        proxy_bps: list[float] = []
        direct_cpu: list[float] = []
        proxy_cpu: list[float] = []
        direct_rtt, proxy_rtt = [], []
        direct_tps, proxy_tps, shared_direct_tps, shared_tps = [], [], [], []
        for _ in range(rounds):
            proxied = (source_proxy.host, source_proxy.port)
            for bps, cpu, address in ((direct_bps, direct_cpu, upstream.source),
                                      (proxy_bps, proxy_cpu, proxied)):
                rate, cost = streamed(address)
                bps.append(rate)
                cpu.append(cost)
            direct_rtt += round_trips(upstream.echo, 200 if quick else 1000)
            proxy_rtt += round_trips((echo_proxy.host, echo_proxy.port), 200 if quick else 1000)
            direct_tps.append(smtp_transactions((server.host, server.port), 0.5 if quick else 2))
            proxy_tps.append(smtp_transactions((smtp_proxy.host, smtp_proxy.port),
                                               0.5 if quick else 2))
            shared_direct_tps.append(smtp_transactions(
                (shared_server.host, shared_server.port), 0.5 if quick else 2))
            shared_tps.append(smtp_transactions((shared_proxy.host, shared_proxy.port),
                                                0.5 if quick else 2))
        d_bps, p_bps = statistics.median(direct_bps), statistics.median(proxy_bps)
        rows.append(Row("stream throughput (MB/s)", f"{d_bps / 1e6:.0f}", f"{p_bps / 1e6:.0f}",
                        f"{p_bps / d_bps:.2f}", ">= 0.80"))
        d_cpu, p_cpu = statistics.median(direct_cpu), statistics.median(proxy_cpu)
        rows.append(Row("stream CPU s per GB, every thread (mostly the kernel's)",
                        f"{d_cpu:.2f}", f"{p_cpu:.2f}", f"{p_cpu / d_cpu:.2f}"))
        d_rtt, p_rtt = percentile(direct_rtt, 50), percentile(proxy_rtt, 50)
        rows.append(Row("round trip p50 (µs)", f"{d_rtt * 1e6:.0f}", f"{p_rtt * 1e6:.0f}",
                        f"+{(p_rtt - d_rtt) * 1e6:.0f} µs added"))
        rows.append(Row("round trip p99 (µs)", f"{percentile(direct_rtt, 99) * 1e6:.0f}",
                        f"{percentile(proxy_rtt, 99) * 1e6:.0f}", ""))
        d_tps, p_tps = statistics.median(direct_tps), statistics.median(proxy_tps)
        rows.append(Row("SMTP transactions/s, proxy on a thread of its own", f"{d_tps:.0f}",
                        f"{p_tps:.0f}", f"{p_tps / d_tps:.2f}", ">= 0.80"))
        d_tps, p_tps = statistics.median(shared_direct_tps), statistics.median(shared_tps)
        rows.append(Row("SMTP transactions/s, proxy on the server's loop (as the harness)",
                        f"{d_tps:.0f}", f"{p_tps:.0f}", f"{p_tps / d_tps:.2f}", ">= 0.80"))

        base = statistics.median(proxy_rtt)
        slow = asyncio.run(parallel_pings((slow_proxy.host, slow_proxy.port),
                                          5 if quick else 10, 10 if quick else 20))
        errors = [(s - 0.1 - base) * 1000 for s in slow]
        rows.append(Row("latency 100 ms: error p50 / p99 (ms)", "",
                        f"{percentile(errors, 50):+.2f} / {percentile(errors, 99):+.2f}",
                        f"n={len(errors)}", "lower bound never below 100 ms"))
        rows.append(Row("latency 100 ms: min round trip (ms)", "",
                        f"{min(slow) * 1000:.2f}", ""))

        held = 200 if quick else 1000
        d_ok, d_err = asyncio.run(hold_open(upstream.echo, held))
        p_ok, p_err = asyncio.run(hold_open((echo_proxy.host, echo_proxy.port), held))
        rows.append(Row(f"connections held at once (of {held})", f"{d_ok} ok, {d_err} errors",
                        f"{p_ok} ok, {p_err} errors", f"{p_ok / max(d_ok, 1):.2f}",
                        "1,000 without errors"))

        switches = switch_times(10 if quick else 40)
        rows.append(Row("Toxiproxy backend: per-attempt switch p50 / p99 (ms)", "",
                        f"{percentile(switches, 50) * 1000:.1f} / "
                        f"{percentile(switches, 99) * 1000:.1f}", f"n={len(switches)}",
                        "the race window"))
        rows += against_toxiproxy(quick)
    finally:
        for proxy in (echo_proxy, source_proxy, smtp_proxy, slow_proxy):
            proxy.stop()
        shared_proxy.stop()
        shared_server.stop()
        server.stop()
        upstream.stop()
    return rows


def figures(quick: bool = False) -> list[Figure]:
    """The chaos figures for ``python -m benchmarks``: the proxy against a direct link."""
    found = []
    for row in run(quick):
        try:
            ratio: float | None = float(row.ratio)
        except ValueError:
            ratio = None
        note = row.ratio if ratio is None else ""
        met = None
        if row.target.startswith(">=") and ratio is not None:
            met = ratio >= float(row.target[2:])
        found.append(Figure("chaos", row.figure, row.proxy, row.direct, ratio,
                            " ".join(filter(None, (row.target, note))), met))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_chaos")
    parser.add_argument("--quick", action="store_true", help="a smoke run, a few seconds")
    parser.add_argument("--smtp-client", nargs=2, metavar=("HOST:PORT", "SECONDS"),
                        help=argparse.SUPPRESS)  # the client of smtp_transactions_apart
    args = parser.parse_args(argv)
    if args.smtp_client:
        host, _, port = args.smtp_client[0].rpartition(":")
        print(smtp_transactions((host, int(port)), float(args.smtp_client[1])))
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192 <= hard or (soft < 8192 and hard == resource.RLIM_INFINITY):
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, hard))
    print(f"chaos proxy benchmark: Python {platform.python_version()}, {platform.system()}, "
          f"{os.cpu_count()} CPUs{' (quick)' if args.quick else ''}")
    rows = run(args.quick)
    header = Row("figure", "direct", "through proxy", "ratio", "target")
    widths = [max(len(getattr(r, f)) for r in [header, *rows])
              for f in ("figure", "direct", "proxy", "ratio", "target")]
    for row in [header, *rows]:
        cells = (row.figure, row.direct, row.proxy, row.ratio, row.target)
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
