"""The ``harness`` command: a thin shell over the library.

Exit codes: 0 all passed, 1 an expectation failed, 2 invalid input or usage,
3 harness error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness import __version__
from harness.errors import HarnessError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Fault-injection test harness for SMTP clients."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="replay a few fault plans against the bundled client")
    demo.add_argument("--seed", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from harness.demo import run_demo

            return run_demo(seed=args.seed)
    except HarnessError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return 2
