"""The ``harness`` command: a thin shell over the library.

    harness run [SCENARIO|DIR|NAME ...] [--json F] [--junit F] [--html F] [-j N] [--seed S]
                [--timeout S] [--shard I/N [--durations REPORT]]
                -- CLIENT COMMAND WITH {host} {port} {cafile} {tls}
    harness merge REPORT.json... [--json F] [--junit F] [--html F]
    harness serve SCENARIO|NAME --port N [--json F] [--html F] [--timeout S]
    harness scorecard REPORT.json | -- CLIENT COMMAND   [--markdown F] [--badge F]
    harness list | validate FILE... | schema [--report] | demo | toxiproxy

Exit codes: 0 every scenario passed, 1 a scenario failed, 2 invalid scenario or usage,
3 harness error, 4 a scenario was not exercised (none failed), 130/143 interrupted by
SIGINT/SIGTERM. A user mistake is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from harness.cli_help import Parser, quiet_broken_pipe
from harness.errors import ClientError, HarnessError
from harness.outcome import EXIT_HARNESS, EXIT_PASSED, EXIT_USAGE
from harness.version import __version__

if TYPE_CHECKING:
    from harness.outcome import RunResult
    from harness.run import Run

T = TypeVar("T")

EXIT_CODES = ("Exit codes: 0 every scenario passed, 1 a scenario failed, 2 invalid scenario or"
              " usage, 3 harness error, 4 a scenario was not exercised (and none failed),"
              " 130/143 interrupted (SIGINT/SIGTERM; the reports are still written).")


def _parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(  # its subcommands' parsers are Parsers too
        prog="harness",
        description="Fault-injection test harness for SMTP clients.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run", help="run scenarios against a client command given after --",
        description="Run scenarios (files, folders, or built-in names; none: the whole"
        " catalogue) against the client command after --, whose {host} {port} {cafile}"
        " {tls} are filled in (and set as HARNESS_SMTP_HOST, HARNESS_SMTP_PORT,"
        " HARNESS_CAFILE, HARNESS_SMTP_TLS).",
    )
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="a scenario file, a folder of them, or a built-in name"
                     " (default: the whole built-in catalogue)")
    _reports(run)
    _extends(run)
    run.add_argument("-j", "--jobs", type=int, default=1,
                     help="scenarios run at once (default: 1)")
    run.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    run.add_argument("--timeout", type=_seconds, metavar="S",
                     help="time limit of each scenario that sets no client.timeout_s of its"
                     " own (default: 60); a scenario's own limit always applies")
    run.add_argument("--shard", metavar="I/N", help="run only share I of N of the scenarios,"
                     " balanced by expected duration (default: all); see harness merge")
    run.add_argument("--durations", metavar="REPORT", help="a JSON report of an earlier run,"
                     " whose durations balance the shards (default: estimated from the files)")
    _progress(run)
    _gate(run)

    serve = commands.add_parser(
        "serve", help="serve one scenario on a fixed port for a long-running client",
        description="Serve a scenario on a fixed port until its verdict is decided (mail"
        " delivered and no connection for --quiet seconds), the time limit passes, or"
        " Ctrl-C; the reports are written in every case.",
    )
    serve.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a built-in name")
    serve.add_argument("--port", type=int, required=True, help="the port to listen on")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    _reports(serve)
    _extends(serve)
    serve.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    serve.add_argument("--timeout", type=_seconds, default=300.0, metavar="S",
                       help="give up after this long (default: 300)")
    serve.add_argument("--quiet", type=_seconds, metavar="S",
                       help="seconds without a connection, after delivery, that end the run"
                       " (default: derived from the scenario: twice the longest gap its"
                       " backoff, greylisting or rate window allows, at least 2)")
    serve.add_argument("--live", metavar="PORT", type=_port, nargs="?", const=0,
                       help="serve a live page of the run on 127.0.0.1 (on PORT; default:"
                       " a free port) and print its address: the attempts on a time axis as"
                       " they happen, the faults, then the verdict (default: no page)")
    _progress(serve)
    _gate(serve)

    merge = commands.add_parser(
        "merge", help="merge the JSON reports of shards into one run's reports",
        description="Merge the JSON reports of harness run --shard 1/N ... N/N into one JSON,"
        " JUnit and HTML report, with the exit code the unsharded run would have had.",
    )
    merge.add_argument("reports", nargs="+", metavar="REPORT",
                       help="the JSON report of each shard (harness run --shard I/N --json)")
    _reports(merge)
    merge.add_argument("--accept-not-exercised", metavar="SCENARIO", action="append",
                       default=[], help="as for harness run (repeatable; default: none)")

    commands.add_parser("list", help="the built-in scenarios, one per line")
    validate = commands.add_parser("validate", help="check scenario files, report every problem")
    _extends(validate)
    validate.add_argument("files", nargs="+", metavar="FILE", help="a scenario file")
    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--report", action="store_true", help="the JSON report's schema instead")
    demo = commands.add_parser("demo", help="run the catalogue against the bundled client")
    demo.add_argument("-j", "--jobs", type=int, default=4,
                      help="scenarios run at once (default: 4)")
    demo.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    demo.add_argument("--toxiproxy", metavar="URL", default=os.environ.get("TOXIPROXY_URL"),
                      help="a real Toxiproxy's API for the network scenarios (default:"
                      " $TOXIPROXY_URL, else the embedded proxy)")
    demo.add_argument("--html", metavar="FILE", default="harness-demo.html",
                      help="the HTML report to write (default: harness-demo.html)")
    _progress(demo)
    # what `run` asks for and the demo fixes: the whole catalogue, no other reports
    demo.set_defaults(scenarios=[], json=None, junit=None, timeout=None, shard=None,
                      durations=None, accept_not_exercised=[])

    from harness.scorecard_cli import add_parser as add_scorecard

    add_scorecard(commands)

    toxiproxy = commands.add_parser(
        "toxiproxy", help="serve Toxiproxy's HTTP API with the embedded chaos proxy"
    )
    toxiproxy.add_argument("--host", default="localhost", help="API host (default: localhost)")
    toxiproxy.add_argument("--port", type=int, default=8474, help="API port (default: 8474)")
    toxiproxy.add_argument("--config", help="JSON file of proxies, as for POST /populate"
                           " (default: none)")
    toxiproxy.add_argument("--seed", type=int, default=None,
                           help="seed of the toxics' random choices (default: random)")
    return parser


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _port(text: str) -> int:
    """A TCP port, 0 meaning any free one (argparse type)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number (0 to 65535), got {text!r}"
                                         " (give the scenario before --live, or --live"
                                         " last)")
    return int(text)


def _progress(parser: argparse.ArgumentParser) -> None:
    from harness.progress import CHOICES, STILL_RUNNING_S

    parser.add_argument("--progress", choices=CHOICES, default="auto",
                        help="live progress, on stderr: 'terminal' redraws a status area"
                        " (each running scenario, its time and attempts, a bar with the time"
                        " left), 'log' writes a line as each scenario starts and a 'still"
                        f" running' line every {STILL_RUNNING_S:g} s, 'off' nothing; 'auto'"
                        " is 'terminal' when stdout and stderr are a terminal, else 'log'"
                        " (default: auto)")


def _gate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--toxiproxy", metavar="URL", default=os.environ.get("TOXIPROXY_URL"),
                        help="a real Toxiproxy's API for the network scenarios (default:"
                        " $TOXIPROXY_URL, else the embedded proxy)")
    parser.add_argument("--accept-not-exercised", metavar="SCENARIO", action="append",
                        default=[], help="a scenario (or 'all') whose being not exercised"
                        " does not fail the run: for a client that cannot take part in it,"
                        " e.g. one that sends to a single recipient (repeatable; default:"
                        " none)")


def _reports(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="write the JSON report here"
                        " (default: none)")
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML here (default: none)")
    parser.add_argument("--html", metavar="FILE", help="write the HTML report here"
                        " (default: none)")


def _extends(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extends-dir", metavar="DIR", action="append", default=[],
                        help="a folder whose scenario files `extends:` may read, besides the"
                        " extending file's own (repeatable; default: none)")


@contextlib.contextmanager
def _extends_dirs(folders: list[str]) -> Iterator[None]:
    """``--extends-dir`` for the loader, which reads it from the environment."""
    from harness.model.load import EXTENDS_DIRS_ENV

    before = os.environ.get(EXTENDS_DIRS_ENV)
    if folders:
        os.environ[EXTENDS_DIRS_ENV] = os.pathsep.join([*folders, *filter(None, [before])])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(EXTENDS_DIRS_ENV, None)
        else:
            os.environ[EXTENDS_DIRS_ENV] = before


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in args_list:
        split = args_list.index("--")
        args_list, command = args_list[:split], args_list[split + 1:]
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        with _extends_dirs(getattr(args, "extends_dir", [])):
            return _dispatch(parser, args, command)
    except ClientError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as error:
        from harness.model import ScenarioError

        if isinstance(error, ScenarioError):
            print(f"harness: invalid scenario:\n{error}", file=sys.stderr)
            return EXIT_USAGE
        print(f"harness: error: {error}", file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # harness list | head: the reader has what it wanted
        return quiet_broken_pipe()


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace,
              command: list[str]) -> int:
    if args.command == "run":
        return _run(args, command)
    if args.command == "demo":
        from harness.examples.client import DEMO_COMMAND

        return _run(args, list(DEMO_COMMAND))
    if args.command == "serve":
        return _serve(args)
    if args.command == "scorecard":
        from harness.scorecard_cli import scorecard_command

        return scorecard_command(args, command, main)
    if args.command == "merge":
        return _merge(args)
    if args.command == "list":
        return _list()
    if args.command == "validate":
        return _validate(args.files)
    if args.command == "schema":
        from harness.model import json_schema
        from harness.report import REPORT_SCHEMA

        print(json.dumps(REPORT_SCHEMA if args.report else json_schema(), indent=2))
        return EXIT_PASSED
    if args.command == "toxiproxy":
        from harness.chaos.command import serve_toxiproxy

        return serve_toxiproxy(host=args.host, port=args.port, config=args.config,
                               seed=args.seed)
    parser.print_help()
    return EXIT_USAGE


def _run(args: argparse.Namespace, command: list[str]) -> int:
    from harness.batch import resolve, run_batch
    from harness.gate import conclude
    from harness.interrupt import Interruption
    from harness.progress import Progress
    from harness.report import ConsoleReporter
    from harness.shard import durations_from, expected_s, share
    from harness.verdicts import calibrate

    if args.jobs < 1:
        raise ClientError(f"-j {args.jobs}: the number of jobs must be 1 or more")
    _check_report_paths(args)
    scenarios, shard = share(resolve(args.scenarios), args.shard, args.durations)
    measured = durations_from(args.durations) if args.durations else {}  # as for --shard
    progress = Progress.choose(args.progress, len(scenarios), jobs=args.jobs, expected={
        s.name: measured.get(s.name, expected_s(s)) for s in scenarios})
    console = ConsoleReporter(len(scenarios), progress.stream)
    calibration = calibrate()
    console.started(args.seed, f"p99.9 {calibration.q_s * 1e3:.2f} ms", _backend(args))
    interruption = Interruption()
    with interruption.catching(), progress:
        results = run_batch(scenarios, command, jobs=args.jobs, seed=args.seed,
                            timeout_s=args.timeout, calibration=calibration,
                            toxiproxy_url=args.toxiproxy, stop=interruption.stop,
                            on_start=progress.watch, on_result=progress.finishing(console.finished))
    return conclude(results, console, seed=args.seed, shard=shard, command=command,
                    json_path=args.json, junit_path=args.junit, html_path=args.html,
                    accept_not_exercised=args.accept_not_exercised,
                    interrupted_by=interruption.signal)


def _merge(args: argparse.Namespace) -> int:
    from harness.gate import conclude
    from harness.merge import merge_files
    from harness.report import ConsoleReporter

    _check_report_paths(args)
    merged = merge_files(args.reports)
    return conclude(merged.results, ConsoleReporter(len(merged.results)),
                    seed=merged.document["seed"], document=merged.document,
                    json_path=args.json, junit_path=args.junit, html_path=args.html,
                    accept_not_exercised=args.accept_not_exercised)


def _serve(args: argparse.Namespace) -> int:
    from harness.batch import resolve
    from harness.interrupt import Interruption
    from harness.live import LiveServe
    from harness.progress import Progress
    from harness.serve import serve_scenario

    _check_report_paths(args)
    (scenario,) = resolve([args.scenario])
    progress = Progress.choose(args.progress, 1)
    interruption = Interruption()
    with contextlib.ExitStack() as stack:
        starts: list[Callable[[Run], None]] = [progress.watch]
        results: list[Callable[[RunResult], None]] = [progress.finishing(lambda _: None)]
        if args.live is not None:
            live = stack.enter_context(LiveServe(scenario, progress.stream, args.live))
            starts.append(live.on_start)
            results.append(live.on_result)
        stack.enter_context(interruption.catching())
        stack.enter_context(progress)
        return serve_scenario(
            scenario, host=args.host, port=args.port, seed=args.seed,
            timeout_s=args.timeout, quiet_s=args.quiet, toxiproxy_url=args.toxiproxy,
            json_path=args.json, junit_path=args.junit, html_path=args.html,
            accept_not_exercised=args.accept_not_exercised, interruption=interruption,
            stream=progress.stream, on_start=_each(starts), on_result=_each(results))


def _each(hooks: Sequence[Callable[[T], None]]) -> Callable[[T], None]:
    """One hook that calls ``hooks`` in order."""
    def each(value: T) -> None:
        for hook in hooks:
            hook(value)
    return each


def _check_report_paths(args: argparse.Namespace) -> None:
    """A report that could not be written is a usage error before anything runs."""
    from harness.report.paths import check_report_paths

    check_report_paths({"--json": args.json, "--junit": getattr(args, "junit", None),
                        "--html": args.html})


def _backend(args: argparse.Namespace) -> str:
    if not args.toxiproxy:
        return "embedded chaos proxy"
    source = " (from TOXIPROXY_URL)" if args.toxiproxy == os.environ.get("TOXIPROXY_URL") else ""
    return f"Toxiproxy at {args.toxiproxy}{source}"


def _list() -> int:
    from harness.model import Scenario
    from harness.model.builtin_scenarios import builtin_names, builtin_path

    for name in builtin_names():
        print(f"{name:<36} {Scenario.from_path(builtin_path(name)).about}")
    return EXIT_PASSED


def _validate(files: Sequence[str]) -> int:
    from harness.model import validate_paths

    failed = 0
    for path, error in validate_paths(files):
        if error is None:
            print(f"ok   {path}")
        else:
            failed += 1
            print(f"FAIL {path}\n{error}", file=sys.stderr)
    return EXIT_USAGE if failed else EXIT_PASSED
