"""Every figure of every benchmark in one table of ratios against their references.

    python -m benchmarks            # full runs, several minutes
    python -m benchmarks --quick    # smoke runs, about a minute

Each module also runs alone with its own, more detailed table: ``python -m
benchmarks.bench_engine`` and so on. docs/performance.md holds the latest numbers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence

from benchmarks._figures import Figure, table

MODULES = ("bench_engine", "bench_serve", "bench_tls", "bench_chaos", "bench_catalogue",
           "bench_verdicts", "bench_growth", "bench_jitter", "bench_plugin")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke runs: fewer rounds")
    parser.add_argument("--only", action="append", choices=MODULES, help="repeatable")
    args = parser.parse_args(argv)
    found: list[Figure] = []
    broken: list[str] = []
    for name in args.only or MODULES:
        module = importlib.import_module(f"benchmarks.{name}")
        measure = getattr(module, "figures", None)
        if measure is None:
            print(f"{name}: no figures() yet; run python -m benchmarks.{name}", file=sys.stderr)
            continue
        started = time.monotonic()
        print(f"{name}...", end="", flush=True, file=sys.stderr)
        try:
            found += measure(quick=args.quick)
        except Exception:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            broken.append(name)
            found.append(Figure(name.removeprefix("bench_"), "this benchmark failed", "error"))
            continue
        print(f" {time.monotonic() - started:.0f} s", file=sys.stderr)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, {platform.system()}"
          f" {platform.machine()}, load average {load:.2f} at the end"
          f"{', quick runs' if args.quick else ''}\n")
    print(table(found))
    if broken:
        print(f"failed: {', '.join(broken)} (traceback above)", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
