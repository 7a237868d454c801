"""``harness serve`` over a long run: its rate window by window, and its memory.

    python -m benchmarks.bench_serve            # 20,000 messages per mode, about 3 minutes
    python -m benchmarks.bench_serve --quick    # a smoke run, about 15 s

Two processes listen side by side for the whole run: ``harness serve no-fault`` (the entry
point a long-running client uses, with its own wait for the verdict) and the reference,
bare aiosmtpd (``python -m aiosmtpd`` with its ``Sink`` handler). The client in this
process sends windows of messages to each in turn, alternating which goes first, so a
slow moment of the machine hits both: per window, first one connection for the whole
window, then one connection per message. A server whose cost grows with what it has
already seen shows as a ratio that falls from window to window.

After each window the resident memory (VmRSS) of both processes is read, and the growth of
``harness serve``'s per 10,000 messages is reported.

    python -m benchmarks.bench_serve --memory 1000000 --log rss.tsv

is the long run behind the memory budget (docs/performance.md): that many messages, one
connection each and each with its own Message-ID (a newsletter), into both servers in
turn, 10,000 at a time; the resident memory of both after each 10,000, printed (and
appended to ``--log``) as it goes, so that a run stopped early still says how far it got.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from benchmarks._figures import Figure, table
from benchmarks.bench_engine import MESSAGE, Client, SMTPError

MODES = ("one connection", "connection per message")
BUDGET_MIB = 256  # resident memory of harness serve for a million messages (performance.md)
SERVERS = ("harness", "aiosmtpd")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(name: str, port: int) -> list[str]:
    if name == "harness":
        return [sys.executable, "-m", "harness", "serve", "no-fault", "--port", str(port),
                "--timeout", "86400", "--quiet", "86400"]
    return [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
            "-l", f"127.0.0.1:{port}"]


@contextlib.contextmanager
def _listening(name: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start server ``name`` in a process of its own; stop it (Ctrl-C, then kill)."""
    port = _free_port()
    process = subprocess.Popen(_command(name, port), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start listening") from None
                time.sleep(0.05)
        yield process, port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` (Linux), 0 where it cannot be read."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _window(port: int, mode: str, messages: int) -> float:
    """Messages per second for ``messages`` messages in ``mode``."""
    start = time.perf_counter()
    if mode == "one connection":
        client = Client("127.0.0.1", port)
        client.greet()
        for _ in range(messages):
            client.send()
        client.quit()
    else:
        for _ in range(messages):
            client = Client("127.0.0.1", port)
            client.greet()
            client.send()
            client.quit()
    return messages / (time.perf_counter() - start)


def newsletter(number: int) -> bytes:
    """Message ``number`` of a newsletter: the benchmark's message, its own Message-ID."""
    return MESSAGE.replace(b"<bench@example.org>", b"<%d.bench@example.org>" % number)


def memory_run(messages: int, step: int = 10_000, log: Path | None = None,
               out: TextIO = sys.stdout) -> list[tuple[int, int, int]]:
    """``messages`` messages, a connection each, into ``harness serve`` and bare aiosmtpd
    in turn, ``step`` at a time: (messages so far, harness RSS, aiosmtpd RSS) after each."""
    points: list[tuple[int, int, int]] = []
    with _listening("harness") as (harness, harness_port), \
            _listening("aiosmtpd") as (bare, bare_port):
        points.append((0, rss_bytes(harness.pid), rss_bytes(bare.pid)))
        started = time.monotonic()
        for sent in range(0, messages, step):
            for port in (harness_port, bare_port):
                for number in range(sent, min(messages, sent + step)):
                    client = Client("127.0.0.1", port)
                    client.greet()
                    client.send(newsletter(number))
                    client.quit()
            point = (min(messages, sent + step), rss_bytes(harness.pid), rss_bytes(bare.pid))
            points.append(point)
            line = (f"{point[0]}\t{point[1] / 2**20:.1f}\t{point[2] / 2**20:.1f}"
                    f"\t{time.monotonic() - started:.0f}\t{os.getloadavg()[0]:.1f}")
            print(line, file=out, flush=True)
            if log is not None:
                with log.open("a") as file:
                    print(line, file=file)
    return points


def memory_figures(points: Sequence[tuple[int, int, int]]) -> list[Figure]:
    harness = [(m, h) for m, h, _ in points]
    bare = [(m, b) for m, _, b in points]
    per_10k, bare_10k = _per_10k(harness), _per_10k(bare)
    last, (sent, harness_rss, bare_rss) = harness[-1][1], points[-1]
    million = last + per_10k * (1_000_000 - sent) / 10_000
    return [
        Figure("serve", f"resident memory growth per 10,000 messages ({sent:,} messages)",
               f"{per_10k / 2**20:.1f} MiB", f"{bare_10k / 2**20:.1f} MiB"),
        Figure("serve", f"resident memory after {sent:,} messages",
               f"{harness_rss / 2**20:.0f} MiB", f"{bare_rss / 2**20:.0f} MiB"),
        Figure("serve", "resident memory for 1,000,000 messages"
               + (" (extrapolated)" if sent < 1_000_000 else ""),
               f"{million / 2**20:.0f} MiB", "", None, f"< {BUDGET_MIB} MiB",
               million < BUDGET_MIB * 2**20),
    ]


@dataclass
class Measured:
    windows: int
    per_window: int
    rates: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    rss: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # (messages, bytes)

    def ratios(self, mode: str) -> list[float]:
        return [h / a for h, a in zip(self.rates["harness", mode], self.rates["aiosmtpd", mode])]


def measure(windows: int, per_window: int) -> Measured:
    result = Measured(windows, per_window,
                      {(s, m): [] for s in SERVERS for m in MODES}, {s: [] for s in SERVERS})
    with _listening("harness") as (harness, harness_port), \
            _listening("aiosmtpd") as (bare, bare_port):
        processes = {"harness": (harness, harness_port), "aiosmtpd": (bare, bare_port)}
        for name, (process, _) in processes.items():
            result.rss[name].append((0, rss_bytes(process.pid)))
        for window in range(windows):
            order = SERVERS if window % 2 == 0 else SERVERS[::-1]
            for mode in MODES:
                for name in order:
                    result.rates[name, mode].append(_window(processes[name][1], mode, per_window))
            for name, (process, _) in processes.items():
                sent = (window + 1) * per_window * len(MODES)
                result.rss[name].append((sent, rss_bytes(process.pid)))
    return result


def _per_10k(points: Sequence[tuple[int, int]]) -> float:
    """Growth of resident memory in bytes per 10,000 messages, from the second half of the
    run (the first windows include the start-up's own growth)."""
    half = points[len(points) // 2:]
    (m0, b0), (m1, b1) = half[0], half[-1]
    return (b1 - b0) / (m1 - m0) * 10_000 if m1 > m0 else 0.0


def as_figures(measured: Measured) -> list[Figure]:
    rows: list[Figure] = []
    for mode in MODES:
        ratios = measured.ratios(mode)
        worst = min(ratios)
        harness_rates = measured.rates["harness", mode]
        bare_rates = measured.rates["aiosmtpd", mode]
        rows.append(Figure(
            "serve", f"{mode}, worst of {measured.windows} windows of {measured.per_window:,}",
            f"{harness_rates[ratios.index(worst)]:,.0f} msg/s",
            f"{bare_rates[ratios.index(worst)]:,.0f} msg/s", worst, ">= 0.90", worst >= 0.9,
        ))
        rows.append(Figure(
            "serve", f"{mode}, first / last window",
            f"{harness_rates[0]:,.0f} / {harness_rates[-1]:,.0f} msg/s",
            f"{bare_rates[0]:,.0f} / {bare_rates[-1]:,.0f} msg/s",
            ratios[-1] / ratios[0] if ratios[0] else None, "no fall",
        ))
    harness_rss, bare_rss = measured.rss["harness"], measured.rss["aiosmtpd"]
    rows.append(Figure(
        "serve", "resident memory growth per 10,000 messages",
        f"{_per_10k(harness_rss) / 2**20:.1f} MiB", f"{_per_10k(bare_rss) / 2**20:.1f} MiB",
    ))
    rows.append(Figure(
        "serve", f"resident memory after {harness_rss[-1][0]:,} messages",
        f"{harness_rss[-1][1] / 2**20:.0f} MiB", f"{bare_rss[-1][1] / 2**20:.0f} MiB",
    ))
    return rows


def figures(quick: bool = False) -> list[Figure]:
    """Every serve figure, for ``python -m benchmarks``."""
    windows, per_window = (2, 500) if quick else (10, 2_000)
    return as_figures(measure(windows, per_window))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_serve",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 windows of 500")
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--per-window", type=int, default=2_000,
                        help="messages per window and mode")
    parser.add_argument("--memory", type=int, metavar="N",
                        help="the memory run instead: N messages, a connection each")
    parser.add_argument("--log", type=Path, help="with --memory: append each point here")
    args = parser.parse_args(argv)
    if args.memory:
        print("messages\tharness MiB\taiosmtpd MiB\tseconds\tload")
        try:
            points = memory_run(args.memory, log=args.log)
        except (SMTPError, OSError, RuntimeError) as error:
            print(f"serve memory run failed: {error}", file=sys.stderr)
            return 1
        print()
        print(table(memory_figures(points), with_area=False))
        return 0
    if args.quick:
        args.windows, args.per_window = 2, 500
    load = os.getloadavg()[0]
    try:
        measured = measure(args.windows, args.per_window)
    except (SMTPError, OSError, RuntimeError) as error:
        print(f"serve benchmark failed: {error}", file=sys.stderr)
        return 1
    print(f"serve: {args.windows} windows of {args.per_window:,} messages per mode;"
          f" load average {load:.2f} before, {os.getloadavg()[0]:.2f} after\n")
    for mode in MODES:
        print(f"{mode}, ratio per window: "
              + " ".join(f"{r:.2f}" for r in measured.ratios(mode))
              + f"  (median {statistics.median(measured.ratios(mode)):.2f})")
    print()
    print(table(as_figures(measured), with_area=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
