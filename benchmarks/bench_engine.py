"""Engine figures: FakeSMTPServer against bare aiosmtpd, measured side by side in one run.

    python -m benchmarks.bench_engine            # the full run, about 30 s
    python -m benchmarks.bench_engine --quick    # a smoke run, a few seconds

Three figures, each beside a reference measured in the same run with the same client:

- Messages per second with no faults, one connection for many messages and one
  connection per message. Reference: ``aiosmtpd.smtp.SMTP`` with a trivial handler,
  served by ``loop.create_server`` on its own event-loop thread, like the fake server.
  The two servers alternate round by round (ABBA order) so machine noise hits both.
- How late a 200 ms ``delay`` fault reaches the client: the time from connecting (banner)
  or from sending ``MAIL`` to the reply, minus 200 ms. Reference: the same measurement
  against a fake server with no fault, interleaved with the delayed runs.
- Time to start and stop a server, against ``create_server`` + ``close`` of bare aiosmtpd
  on a fresh loop thread.

For throughput the client is a blocking socket in the main thread speaking SMTP one
command at a time (no pipelining), Nagle off; for the delay, an asyncio client on the main
thread keeps about twenty staggered connections in flight. ``docs/performance.md`` has
the figures and how to read them.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session

from benchmarks._figures import Figure, table
from harness import faults
from harness.faults import Phase
from harness.smtp.faults.schedule import FaultSchedule
from harness.smtp.protocol import FaultySMTP, SessionHost
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder

DELAY_S = 0.2
FIGURES = ("throughput", "set-up", "delay", "start-stop")
DELAY_PHASES: tuple[Phase, ...] = (
    "connect", "banner", "ehlo", "mail", "rcpt", "data", "dot", "quit")
"""Every phase the delay client below can time: the reply to that phase's command."""
MESSAGE = (
    b"From: bench@example.org\r\n"
    b"To: sink@example.org\r\n"
    b"Subject: engine benchmark\r\n"
    b"Message-ID: <bench@example.org>\r\n"
    b"\r\n"
    + b"The quick brown fox jumps over the lazy dog.\r\n" * 8
    + b".\r\n"
)


# -- the reference: bare aiosmtpd on a loop thread of its own ---------------------------


class _SinkHandler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 2.0.0 OK"


class BareServer:
    """``aiosmtpd.smtp.SMTP`` behind ``loop.create_server`` on 127.0.0.1 port 0, on a
    thread running its own event loop: the fake server's threading model, without it."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    def start(self) -> BareServer:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, daemon=True)
        self._thread.start()

        async def open_() -> asyncio.Server:
            return await loop.create_server(
                lambda: SMTP(_SinkHandler(), hostname="localhost", loop=loop),
                host="127.0.0.1", port=0,
            )

        self._server = asyncio.run_coroutine_threadsafe(open_(), loop).result(10)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        loop, server, thread = self._loop, self._server, self._thread
        assert loop is not None and server is not None and thread is not None

        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


class _Server(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    def stop(self) -> None: ...


SERVERS: dict[str, Callable[[], _Server]] = {
    "harness": lambda: FakeSMTPServer([], seed=1).start(),
    "aiosmtpd": lambda: BareServer().start(),
}


# -- the client: one command, one reply --------------------------------------------------


class SMTPError(Exception):
    pass


class Client:
    """A blocking SMTP client on a raw socket; each command waits for its full reply."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def reply(self, expect: int) -> None:
        """Read one (possibly multi-line) reply and check its code."""
        buffer = self._buffer
        start = 0
        while True:
            end = buffer.find(b"\r\n", start)
            if end == -1:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise SMTPError(f"connection closed while waiting for {expect}")
                buffer = buffer[start:] + chunk
                start = 0
                continue
            line = buffer[start:end]
            start = end + 2
            if line[3:4] != b"-":
                self._buffer = buffer[start:]
                if int(line[:3]) != expect:
                    raise SMTPError(f"expected {expect}, got {line!r}")
                return

    def command(self, line: bytes, expect: int) -> None:
        self.sock.sendall(line)
        self.reply(expect)

    def greet(self) -> None:
        self.reply(220)
        self.command(b"EHLO bench.example.org\r\n", 250)

    def send(self, message: bytes = MESSAGE) -> None:
        self.command(b"MAIL FROM:<bench@example.org>\r\n", 250)
        self.command(b"RCPT TO:<sink@example.org>\r\n", 250)
        self.command(b"DATA\r\n", 354)
        self.command(message, 250)

    def quit(self) -> None:
        self.command(b"QUIT\r\n", 221)
        self.sock.close()


def one_connection(server: _Server, messages: int) -> float:
    """Seconds to send ``messages`` messages over one connection (greeting included)."""
    start = time.perf_counter()
    client = Client(server.host, server.port)
    client.greet()
    for _ in range(messages):
        client.send()
    client.quit()
    return time.perf_counter() - start


def connection_per_message(server: _Server, messages: int) -> float:
    """Seconds to send ``messages`` messages, each on a connection of its own."""
    start = time.perf_counter()
    for _ in range(messages):
        client = Client(server.host, server.port)
        client.greet()
        client.send()
        client.quit()
    return time.perf_counter() - start


# -- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    figure: str
    harness: float
    reference: float
    unit: str
    ratio: float | None
    target: str
    met: bool | None


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``q`` % at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def throughput(rounds: int, per_round: int, per_round_connections: int) -> list[Row]:
    modes: list[tuple[str, Callable[[_Server, int], float], int]] = [
        ("one connection", one_connection, per_round),
        ("connection per message", connection_per_message, per_round_connections),
    ]
    rates: dict[tuple[str, str], list[float]] = {
        (name, mode): [] for name in SERVERS for mode, _, _ in modes
    }
    names = list(SERVERS)
    for round_ in range(rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            server = SERVERS[name]()
            try:
                one_connection(server, 20)  # warm up: imports, caches, first accept
                for mode, run, count in modes:
                    rates[name, mode].append(count / run(server, count))
            finally:
                server.stop()
    rows = []
    for mode, _, _ in modes:
        fake, bare = rates["harness", mode], rates["aiosmtpd", mode]
        ratio = statistics.median(f / b for f, b in zip(fake, bare))  # paired by round
        rows.append(Row(f"messages/s, {mode}", statistics.median(fake), statistics.median(bare),
                        "msg/s", ratio, ">= 0.95", ratio >= 0.95))
    return rows


async def _reply(reader: asyncio.StreamReader, expect: int) -> None:
    while (line := await reader.readline())[3:4] == b"-":
        pass
    if line[:3] != str(expect).encode():
        raise SMTPError(f"expected {expect}, got {line!r}")


_STEPS: tuple[tuple[Phase, bytes, int], ...] = (
    ("ehlo", b"EHLO bench.example.org\r\n", 250),
    ("mail", b"MAIL FROM:<bench@example.org>\r\n", 250),
    ("rcpt", b"RCPT TO:<sink@example.org>\r\n", 250),
    ("data", b"DATA\r\n", 354),
    ("dot", MESSAGE, 250),
    ("quit", b"QUIT\r\n", 221),
)


async def _latency(host: str, port: int, phase: Phase, at: float) -> float:
    """Seconds from connecting to the banner (``connect``, ``banner``), else from sending
    the command of ``phase`` to its reply, on a connection opened at ``at`` (loop time)."""
    await asyncio.sleep(at - asyncio.get_running_loop().time())
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.transport.get_extra_info("socket").setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
    )
    await _reply(reader, 220)
    elapsed = time.perf_counter() - start
    for step, line, expect in _STEPS:
        start = time.perf_counter()
        writer.write(line)
        await _reply(reader, expect)
        if step == phase:
            elapsed = time.perf_counter() - start
    writer.close()
    await writer.wait_closed()
    return elapsed


async def _staggered(
    servers: Sequence[tuple[str, int]], phase: Phase, runs: int, stagger: float
) -> list[list[float]]:
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.05
    tasks = [
        [
            asyncio.create_task(
                _latency(host, port, phase, begin + (i + k / len(servers)) * stagger)
            )
            for i in range(runs)
        ]
        for k, (host, port) in enumerate(servers)
    ]
    return [list(await asyncio.gather(*group)) for group in tasks]


def delay_accuracy(phase: Phase, runs: int, stagger: float) -> list[Row]:
    """``runs`` delayed runs interleaved with as many undelayed ones (the reference), one
    opened every ``stagger / 2`` seconds by an asyncio client on the main thread: about
    0.2 / stagger delays in flight at once, no two of them due at the same moment."""
    delayed = FakeSMTPServer([faults.Delay(at=phase, seconds=DELAY_S)], seed=1).start()
    plain = FakeSMTPServer([], seed=1).start()
    try:
        timed, untimed = asyncio.run(_staggered(
            [(delayed.host, delayed.port), (plain.host, plain.port)], phase, runs, stagger
        ))
    finally:
        delayed.stop()
        plain.stop()
    errors = [(t - DELAY_S) * 1e3 for t in timed]
    reference = [t * 1e3 for t in untimed]
    rows = []
    for q in (50, 99):
        fake, bare = percentile(errors, q), percentile(reference, q)
        met = fake <= bare + 1.0 if q == 99 else None  # within 1 ms of the reference's
        rows.append(Row(f"200 ms delay at {phase}, error p{q}", fake, bare, "ms", None,
                        "<= reference + 1 ms" if q == 99 else "", met))
    return rows


def start_stop(cycles: int) -> list[Row]:
    timings: dict[str, list[float]] = {name: [] for name in SERVERS}
    for cycle in range(cycles):
        order = list(SERVERS) if cycle % 2 == 0 else list(SERVERS)[::-1]
        for name in order:
            start = time.perf_counter()
            SERVERS[name]().stop()
            timings[name].append((time.perf_counter() - start) * 1e3)
    rows = []
    for label, pick in (("median", statistics.median), ("p99", lambda v: percentile(v, 99))):
        fake, bare = pick(timings["harness"]), pick(timings["aiosmtpd"])
        target = "< 5 ms" if label == "median" else ""
        rows.append(Row(f"start + stop, {label}", fake, bare, "ms", fake / bare, target,
                        fake < 5.0 if label == "median" else None))
    return rows


def session_setup(rounds: int, count: int) -> list[Row]:
    """Microseconds to make one connection's session object, best of ``rounds`` runs of
    ``count``: the fake server's against bare aiosmtpd's, alternating."""
    loop = asyncio.new_event_loop()
    host = SessionHost(FaultSchedule([], seed=1), Recorder(), "localhost")
    makers: dict[str, Callable[[], object]] = {
        "harness": lambda: FaultySMTP(host, idle_timeout=300, loop=loop),
        "aiosmtpd": lambda: SMTP(_SinkHandler(), hostname="localhost", loop=loop),
    }
    best = {name: math.inf for name in makers}
    try:
        for _ in range(rounds):
            for name, make in makers.items():
                start = time.perf_counter()
                for _ in range(count):
                    make()
                best[name] = min(best[name], (time.perf_counter() - start) / count * 1e6)
    finally:
        loop.close()
    fake, bare = best["harness"], best["aiosmtpd"]
    return [Row("session set-up per connection", fake, bare, "µs", fake / bare, "", None)]


# -- report ------------------------------------------------------------------------------


def _number(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if unit in ("msg/s", "µs") else f"{value:.2f} {unit}"


def as_figures(rows: Sequence[Row]) -> list[Figure]:
    return [
        Figure("engine", row.figure, _number(row.harness, row.unit),
               _number(row.reference, row.unit), row.ratio, row.target, row.met)
        for row in rows
    ]


def figures(quick: bool = False) -> list[Figure]:
    """Every engine figure, for ``python -m benchmarks``."""
    rounds, messages, connections, runs, cycles = (
        (2, 200, 50, 40, 40) if quick else (16, 500, 125, 200, 200)
    )
    rows = throughput(rounds, messages, connections) + session_setup(10, 2000)
    for phase in DELAY_PHASES:
        rows += delay_accuracy(phase, runs, stagger=0.01)
    return as_figures(rows + start_stop(cycles))


def machine() -> str:
    return (
        f"Python {platform.python_version()}, aiosmtpd {version('aiosmtpd')}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"load average {os.getloadavg()[0]:.2f} before the run"
    )


@contextmanager
def _step(what: str) -> Iterator[None]:
    print(f"  {what}...", end="", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_engine", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds")
    parser.add_argument("--rounds", type=int, default=16, help="throughput rounds per server")
    parser.add_argument("--messages", type=int, default=500,
                        help="messages per round over one connection")
    parser.add_argument("--connections", type=int, default=125,
                        help="messages per round, one connection each")
    parser.add_argument("--runs", type=int, default=200, help="delayed runs per phase")
    parser.add_argument("--cycles", type=int, default=200, help="start/stop cycles per server")
    parser.add_argument("--only", action="append", choices=FIGURES,
                        help="measure only this figure (repeatable)")
    args = parser.parse_args(argv)
    only = set(args.only or FIGURES)
    if args.quick:
        args.rounds, args.messages, args.connections = 2, 200, 50
        args.runs, args.cycles = 40, 40
    where = machine()
    print(f"Engine figures ({where})", file=sys.stderr)
    rows: list[Row] = []
    if "throughput" in only:
        with _step(f"throughput, {args.rounds} rounds"):
            rows += throughput(args.rounds, args.messages, args.connections)
    if "set-up" in only:
        with _step("session set-up, 10 x 2,000"):
            rows += session_setup(10, 2000)
    if "delay" in only:
        for phase in DELAY_PHASES:
            with _step(f"delay at {phase}, {args.runs} runs"):
                rows += delay_accuracy(phase, args.runs, stagger=0.01)
    if "start-stop" in only:
        with _step(f"start/stop, {args.cycles} cycles"):
            rows += start_stop(args.cycles)
    print(f"\nEngine: {where}")
    print(f"rounds={args.rounds} messages={args.messages} connections={args.connections}"
          f" runs={args.runs} cycles={args.cycles}")
    print(table(as_figures(rows), with_area=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
