"""One figure of one benchmark, and the table every benchmark prints them in."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A measured value beside its reference measured in the same run.

    ``ratio`` is harness / reference; ``met`` says whether ``target`` was reached (None
    when the figure has no target).
    """

    area: str
    name: str
    harness: str
    reference: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


def table(figures: Sequence[Figure], *, with_area: bool = True) -> str:
    header = ["area", "figure", "harness", "reference", "ratio", "target", ""]
    rows = [header] + [
        [f.area, f.name, f.harness, f.reference, "" if f.ratio is None else f"{f.ratio:.3f}",
         f.target, {True: "met", False: "MISSED", None: ""}[f.met]]
        for f in figures
    ]
    if not with_area:
        rows = [row[1:] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def simulation_main(module: str, doc: str | None, figures: Callable[..., list[Figure]],
                    argv: Sequence[str] | None) -> int:
    """``python -m benchmarks.MODULE [--trials N]`` for a simulation: its table of figures."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(table(figures(trials=args.trials), with_area=False))
    return 0
