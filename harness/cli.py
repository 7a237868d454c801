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
    toxiproxy = commands.add_parser(
        "toxiproxy", help="serve Toxiproxy's HTTP API with the embedded chaos proxy"
    )
    toxiproxy.add_argument("--host", default="localhost", help="API host (default: localhost)")
    toxiproxy.add_argument("--port", type=int, default=8474, help="API port (default: 8474)")
    toxiproxy.add_argument("--config", help="JSON file of proxies, as for POST /populate")
    toxiproxy.add_argument("--seed", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from harness.demo import run_demo

            return run_demo(seed=args.seed)
        if args.command == "toxiproxy":
            from harness.chaos.command import serve

            return serve(host=args.host, port=args.port, config=args.config, seed=args.seed)
    except HarnessError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return 2
