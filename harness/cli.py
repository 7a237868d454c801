"""The ``harness`` command: a thin shell over the library.

    harness run [SCENARIO|DIR|NAME ...] [--json F] [--junit F] [--html F] [-j N] [--seed S]
                [--timeout S] [--shard I/N [--durations REPORT]]
                -- CLIENT COMMAND WITH {host} {port} {cafile} {tls}
    harness merge REPORT.json... [--json F] [--junit F] [--html F]
    harness serve SCENARIO|NAME --port N [--json F] [--html F] [--timeout S]
    harness scorecard REPORT.json | -- CLIENT COMMAND   [--markdown F] [--badge F]
    harness list | validate FILE... | schema [--report] | demo | toxiproxy

Exit codes: 0 all passed, 1 an expectation failed, 2 invalid scenario or usage,
3 harness error. A user mistake is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from harness.cli_help import Parser, quiet_broken_pipe
from harness.errors import ClientError, HarnessError
from harness.version import __version__

if TYPE_CHECKING:
    from harness.run import RunResult

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(  # its subcommands' parsers are Parsers too
        prog="harness",
        description="Fault-injection test harness for SMTP clients.",
        epilog="Exit codes: 0 all passed, 1 an expectation failed, 2 invalid scenario or"
        " usage, 3 harness error.",
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
    run.add_argument("-j", "--jobs", type=int, default=1, help="scenarios run at once")
    run.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    run.add_argument("--timeout", type=float, help="time limit per scenario, in seconds"
                     " (default: each scenario's client.timeout_s, 60 unless it says)")
    run.add_argument("--shard", metavar="I/N", help="run only share I of N of the scenarios,"
                     " balanced by expected duration (default: all); see harness merge")
    run.add_argument("--durations", metavar="REPORT", help="a JSON report of an earlier run,"
                     " whose durations balance the shards (default: estimated from the files)")

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
    serve.add_argument("--timeout", type=float, default=300.0,
                       help="give up after this many seconds")
    serve.add_argument("--quiet", type=float, default=2.0, help="seconds without a connection"
                       " after delivery that end the run")

    merge = commands.add_parser(
        "merge", help="merge the JSON reports of shards into one run's reports",
        description="Merge the JSON reports of harness run --shard 1/N ... N/N into one JSON,"
        " JUnit and HTML report, with the exit code the unsharded run would have had.",
    )
    merge.add_argument("reports", nargs="+", metavar="REPORT",
                       help="the JSON report of each shard (harness run --shard I/N --json)")
    _reports(merge)

    commands.add_parser("list", help="the built-in scenarios, one per line")
    validate = commands.add_parser("validate", help="check scenario files, report every problem")
    _extends(validate)
    validate.add_argument("files", nargs="+", metavar="FILE", help="a scenario file")
    schema = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--report", action="store_true", help="the JSON report's schema instead")
    demo = commands.add_parser("demo", help="run the catalogue against the bundled client")
    demo.add_argument("-j", "--jobs", type=int, default=4, help="scenarios run at once")
    demo.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    demo.add_argument("--html", metavar="FILE", default="harness-demo.html",
                      help="the HTML report to write (default: harness-demo.html)")

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

        args.json = args.junit = args.timeout = None
        args.scenarios = []
        return _run(args, list(DEMO_COMMAND))
    if args.command == "serve":
        from harness.report.paths import check_report_paths
        from harness.serve import serve_scenario

        check_report_paths({"--json": args.json, "--junit": args.junit, "--html": args.html})
        return serve_scenario(
            args.scenario, host=args.host, port=args.port, seed=args.seed,
            timeout_s=args.timeout, quiet_s=args.quiet, json_path=args.json,
            junit_path=args.junit, html_path=args.html,
        )
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
        from harness.chaos.command import serve

        return serve(host=args.host, port=args.port, config=args.config, seed=args.seed)
    parser.print_help()
    return EXIT_USAGE


def _run(args: argparse.Namespace, command: list[str]) -> int:
    from harness.batch import resolve, run_batch
    from harness.report import ConsoleReporter, write_json
    from harness.report.paths import check_report_paths
    from harness.shard import share
    from harness.verdicts import calibrate

    if args.jobs < 1:
        raise ClientError(f"-j {args.jobs}: the number of jobs must be 1 or more")
    check_report_paths({"--json": args.json, "--junit": args.junit, "--html": args.html})
    scenarios, shard = share(resolve(args.scenarios), args.shard, args.durations)
    console = ConsoleReporter(len(scenarios))
    calibration = calibrate()
    console.started(args.seed, f"p99.9 {calibration.q_s * 1e3:.2f} ms")
    results = run_batch(scenarios, command, jobs=args.jobs, seed=args.seed,
                        timeout_s=args.timeout, calibration=calibration,
                        on_result=console.finished)
    console.summary(results)
    return _write_reports(args, results, args.seed, command,
                          json=lambda path: write_json(path, results, args.seed, shard))


def _write_reports(args: argparse.Namespace, results: Sequence[RunResult],
                   seed: int | None, command: Sequence[str] | None = None, *,
                   json: Callable[[str], None]) -> int:
    """Every report asked for, each written even if another fails; the run's exit code,
    or 3 when a report could not be written."""
    from harness.report import write_html, write_junit
    from harness.report.paths import EXIT_REPORT_FAILED, write_reports

    unwritten = write_reports([
        ("--json", args.json, json),
        ("--junit", args.junit, lambda path: write_junit(path, results)),
        ("--html", args.html, lambda path: write_html(path, results, seed, command)),
    ])
    for problem in unwritten:
        print(f"harness: error: {problem}", file=sys.stderr)
    if args.html and not any(problem.startswith("--html ") for problem in unwritten):
        print(f"HTML report: {args.html}")
    return EXIT_REPORT_FAILED if unwritten else _exit_code(results)


def _exit_code(results: Sequence[RunResult]) -> int:
    """The exit code of a run, or of the shards of one merged."""
    return EXIT_PASSED if all(r.passed for r in results) else EXIT_FAILED


def _merge(args: argparse.Namespace) -> int:
    from harness.merge import merge_files
    from harness.report import ConsoleReporter
    from harness.report.json_report import write_document
    from harness.report.paths import check_report_paths

    check_report_paths({"--json": args.json, "--junit": args.junit, "--html": args.html})
    merged = merge_files(args.reports)
    ConsoleReporter(len(merged.results)).summary(merged.results)
    return _write_reports(args, merged.results, merged.document["seed"],
                          json=lambda path: write_document(path, merged.document))


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
