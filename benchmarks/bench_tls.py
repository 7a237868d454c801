"""TLS figures: building the certificate catalogue, and TLS handshakes per second.

    python -m benchmarks.bench_tls            # the full run, about 15 s
    python -m benchmarks.bench_tls --quick    # a smoke run, a few seconds

- Catalogue build, cold: each of ``--processes`` fresh interpreters imports
  ``harness.tls`` and builds all twelve variants (roots, issuing, PEM files, the
  in-memory handshake that proves each can be served); the time of the build alone,
  import excluded, and which variants cost what.
- Catalogue lookup, warm: ``certificate(name)`` once the variant is cached, and the
  ``server_context()`` a server makes per attempt.
- Handshakes per second with the ``valid`` certificate, one at a time and ``--concurrency``
  at once, by an asyncio client verifying against the catalogue's CA file. Reference:
  ``asyncio.start_server(ssl=...)`` on a loop thread of its own, against the fake SMTP
  server in implicit-TLS mode with the same certificate; the ratio is fake / reference.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from importlib.metadata import version
from typing import TypedDict, cast

from benchmarks._figures import Figure
from harness.loop import LoopThread
from harness.smtp.server import FakeSMTPServer
from harness.tls import catalogue, certificate, names

FIGURES = ("build", "lookup", "handshakes")

_COLD_BUILD = """
import json, time
start = time.perf_counter()
from harness.tls import CertificateCatalogue, names
imported = time.perf_counter()
catalogue = CertificateCatalogue()
times = {}
for name in names():
    t = time.perf_counter()
    catalogue[name]
    times[name] = time.perf_counter() - t
print(json.dumps({"import": imported - start, "build": time.perf_counter() - imported,
                  "variants": times}))
"""


# -- catalogue ---------------------------------------------------------------------------

ColdBuild = TypedDict("ColdBuild", {"import": float, "build": float, "variants": dict[str, float]})


def cold_builds(processes: int) -> list[ColdBuild]:
    """One fresh interpreter per build; each reports its own timings (seconds) as JSON."""
    runs = []
    for _ in range(processes):
        done = subprocess.run(
            [sys.executable, "-c", _COLD_BUILD], capture_output=True, text=True, check=True
        )
        runs.append(cast(ColdBuild, json.loads(done.stdout)))
    return runs


def warm_lookup(repeat: int) -> tuple[float, float]:
    """Microseconds per cached ``certificate(name)`` and per ``server_context()``."""
    for name in names():
        certificate(name)
    start = time.perf_counter()
    for _ in range(repeat):
        for name in names():
            certificate(name)
    lookup = (time.perf_counter() - start) / (repeat * len(names())) * 1e6
    valid = certificate("valid")
    contexts = max(1, repeat // 100)
    start = time.perf_counter()
    for _ in range(contexts):
        valid.server_context()
    context = (time.perf_counter() - start) / contexts * 1e6
    return lookup, context


# -- handshakes ----------------------------------------------------------------------------

TLSServer = Callable[[ssl.SSLContext], AbstractContextManager[tuple[str, int]]]


@contextmanager
def bare_asyncio_tls_server(context: ssl.SSLContext) -> Iterator[tuple[str, int]]:
    """The reference: ``asyncio.start_server(ssl=context)`` on 127.0.0.1 port 0, on a loop
    thread of its own (the fake server's threading model); each connection is closed as
    soon as its handshake is done."""

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()
        await writer.wait_closed()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(close, "127.0.0.1", 0, ssl=context)

    thread = LoopThread("bench-tls-server")
    try:
        server = thread.call(start())
        port = int(server.sockets[0].getsockname()[1])
        try:
            yield "127.0.0.1", port
        finally:
            server.close()
            thread.call(server.wait_closed())
    finally:
        thread.stop()


@contextmanager
def fake_smtp_implicit_tls_server(context: ssl.SSLContext) -> Iterator[tuple[str, int]]:
    """The fake SMTP server in implicit-TLS mode (RFC 8314 §3.3), presenting ``valid``.

    ``context`` is the catalogue's ``valid`` context that the reference serves; the fake
    server builds the same one from the catalogue itself. The handshake client never reads
    the banner, so the server needs no fault plan.
    """
    with FakeSMTPServer(tls="implicit", certificate="valid") as server:
        yield server.host, server.port


SERVERS: dict[str, TLSServer] = {
    "fake SMTP, implicit TLS": fake_smtp_implicit_tls_server,
    "asyncio + ssl": bare_asyncio_tls_server,
}


async def _handshakes(
    address: tuple[str, int], client: ssl.SSLContext, count: int, concurrency: int
) -> float:
    """Handshakes per second: ``count`` connections, ``concurrency`` in flight at a time."""

    async def worker(share: int) -> None:
        for _ in range(share):
            _, writer = await asyncio.open_connection(
                *address, ssl=client, server_hostname="localhost"
            )
            writer.close()
            # the SMTP server's banner may cross our close_notify; that is fine
            with contextlib.suppress(ssl.SSLError, ConnectionError):
                await writer.wait_closed()

    shares = [count // concurrency + (i < count % concurrency) for i in range(concurrency)]
    start = time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares))
    return count / (time.perf_counter() - start)


def handshake_rates(
    rounds: int, count: int, concurrency: int
) -> dict[tuple[str, int], list[float] | str]:
    """Per server and concurrency, the rate of each round, or why it could not run.
    Servers alternate round by round (ABBA order) so machine noise hits all of them."""
    valid = certificate("valid")
    client = ssl.create_default_context(cafile=str(valid.cafile))
    levels = (1, concurrency)
    rates: dict[tuple[str, int], list[float] | str] = {}
    order = list(SERVERS)
    for round_ in range(rounds):
        for name in order if round_ % 2 == 0 else order[::-1]:
            try:
                with SERVERS[name](valid.server_context()) as address:
                    asyncio.run(_handshakes(address, client, max(10, count // 10), 1))  # warm up
                    for level in levels:
                        rate = asyncio.run(_handshakes(address, client, count, level))
                        got = rates.setdefault((name, level), [])
                        if isinstance(got, list):
                            got.append(rate)
            except NotImplementedError as missing:
                for level in levels:
                    rates[name, level] = str(missing)
    return rates


# -- report ------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def machine() -> str:
    return (
        f"Python {platform.python_version()}, {ssl.OPENSSL_VERSION}, trustme"
        f" {version('trustme')}, cryptography {version('cryptography')},"
        f" {os.cpu_count()} cores, {platform.system()} {platform.machine()}"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def build_report(runs: list[ColdBuild]) -> str:
    builds = [run["build"] for run in runs]
    imports = [run["import"] for run in runs]
    rows = [
        ["whole catalogue, cold (median)", _ms(statistics.median(builds))],
        ["whole catalogue, cold (max)", _ms(max(builds))],
        ["import harness.tls (median)", _ms(statistics.median(imports))],
    ]
    variants: dict[str, list[float]] = {}
    for run in runs:
        for name, seconds in run["variants"].items():
            variants.setdefault(name, []).append(seconds)
    for name, times in variants.items():
        label = f"  {name}" + (" (+ the three roots)" if name == names()[0] else "")
        rows.append([label, _ms(statistics.median(times))])
    return table(["catalogue build", f"{len(runs)} fresh processes"], rows)


def handshake_report(rates: dict[tuple[str, int], list[float] | str]) -> str:
    reference = "asyncio + ssl"
    rows = []
    for (name, level), got in rates.items():
        if isinstance(got, str):
            rows.append([name, str(level), "n/a", "", got])
            continue
        rate = statistics.median(got)
        base = rates.get((reference, level))
        ratio = rate / statistics.median(base) if isinstance(base, list) else None
        rows.append([name, str(level), f"{rate:,.0f}/s", "" if ratio is None else f"{ratio:.3f}",
                     ""])  # fmt: skip
    return table(["server (valid certificate)", "in flight", "handshakes", "ratio", "note"], rows)


def figures(quick: bool = False) -> list[Figure]:
    """The TLS figures for ``python -m benchmarks``: catalogue build, cold and warm, and
    handshakes per second of the fake server against bare asyncio + ssl."""
    processes, lookups, rounds, count = (2, 2000, 1, 200) if quick else (10, 20000, 5, 1000)
    builds = [run["build"] for run in cold_builds(processes)]
    lookup, _ = warm_lookup(lookups)
    found = [
        Figure("tls", "catalogue build, cold (median)", _ms(statistics.median(builds))),
        Figure("tls", "catalogue, warm (12 cached lookups)", f"{lookup * len(names()):.1f} µs"),
    ]
    rates = handshake_rates(rounds, count, 16)
    for level in (1, 16):
        fake, bare = rates.get(("fake SMTP, implicit TLS", level)), rates.get(("asyncio + ssl",
                                                                                level))
        if isinstance(fake, list) and isinstance(bare, list):
            ours, theirs = statistics.median(fake), statistics.median(bare)
            found.append(Figure("tls", f"handshakes/s, {level} in flight", f"{ours:,.0f}/s",
                                f"{theirs:,.0f}/s", ours / theirs))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_tls", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds")
    parser.add_argument("--processes", type=int, default=10, help="cold builds, one each")
    parser.add_argument("--lookups", type=int, default=20000, help="warm lookups per name")
    parser.add_argument("--rounds", type=int, default=5, help="handshake rounds per server")
    parser.add_argument("--handshakes", type=int, default=1000, help="handshakes per round")
    parser.add_argument("--concurrency", type=int, default=16, help="handshakes in flight")
    parser.add_argument("--only", action="append", choices=FIGURES,
                        help="measure only this figure (repeatable)")  # fmt: skip
    args = parser.parse_args(argv)
    only = set(args.only or FIGURES)
    if args.quick:
        args.processes, args.lookups, args.rounds, args.handshakes = 2, 2000, 1, 200
    print(f"TLS: {machine()}")
    if "build" in only:
        print(build_report(cold_builds(args.processes)), end="\n\n")
    if "lookup" in only:
        lookup, context = warm_lookup(args.lookups)
        print(table(["catalogue, warm", "time"], [
            ["certificate(name), cached", f"{lookup:.2f} µs"],
            [f"whole catalogue, warm ({len(catalogue())} lookups)",
             f"{lookup * len(catalogue()):.1f} µs"],
            ["ServerCertificate.server_context()", f"{context:.0f} µs"],
        ]), end="\n\n")  # fmt: skip
    if "handshakes" in only:
        print(f"rounds={args.rounds} handshakes={args.handshakes}"
              f" concurrency={args.concurrency}")  # fmt: skip
        rates = handshake_rates(args.rounds, args.handshakes, args.concurrency)
        print(handshake_report(rates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
