"""``harness scorecard``: grade a client from a catalogue run, or from a run's JSON report.

    harness scorecard REPORT.json [--markdown F] [--badge F] [--fail-under GRADE]
    harness scorecard [-j N] [--seed S] [--timeout S] [--json F] [...] -- CLIENT COMMAND

With a client command the whole built-in catalogue is run first, through ``harness run``
(the same run, the same report), then graded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.scorecard import ReportError, load_report, scorecard
from harness.scorecard_render import render_badge, render_console, render_markdown

EXIT_GRADED, EXIT_BELOW, EXIT_USAGE = 0, 1, 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``scorecard`` subcommand's options."""
    parser = commands.add_parser(
        "scorecard", help="grade a client per category, from a catalogue run or its JSON report",
        description="Grade a client per category of the catalogue and overall: from a JSON"
        " report (harness run --json), or by running the whole catalogue against the client"
        " command after --. Only passed scenarios earn credit; not exercised, inconclusive,"
        " interrupted and missing ones never do.",
    )
    parser.add_argument("report", nargs="?", metavar="REPORT.json",
                        help="a JSON report of harness run (default: run the command after --)")
    parser.add_argument("--markdown", metavar="FILE", help="write the scorecard as Markdown"
                        " (default: none)")
    parser.add_argument("--badge", metavar="FILE", help="write the overall grade as an SVG badge"
                        " (default: none)")
    parser.add_argument("--label", default="SMTP resilience", help="the badge's label")
    parser.add_argument("--fail-under", metavar="GRADE", choices=list("ABCD"),
                        help="exit 1 when the overall grade is below this one (default: never)")
    parser.add_argument("--json", metavar="FILE", help="with a command: keep the run's report"
                        " (default: not kept)")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="with a command: scenarios"
                        " run at once")
    parser.add_argument("--seed", type=int, help="with a command: seed of every random choice"
                        " (default: random)")
    parser.add_argument("--timeout", type=float, help="with a command: time limit per scenario"
                        " (default: each scenario's client.timeout_s)")


def scorecard_command(args: argparse.Namespace, command: Sequence[str],
                      harness_main: Callable[[list[str]], int]) -> int:
    """Grade, print, write the files asked for; ``harness_main`` runs ``harness run``."""
    from harness.model.builtin_scenarios import builtin_names

    if bool(args.report) == bool(command):
        print("harness scorecard: error: give a JSON report, or a client command after --"
              " (not both)", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.report:
            report = load_report(args.report)
        else:
            with tempfile.TemporaryDirectory(prefix="harness-scorecard-") as scratch:
                path = args.json or str(Path(scratch) / "report.json")
                run = ["run", "-j", str(args.jobs), "--json", path]
                run += ["--seed", str(args.seed)] if args.seed is not None else []
                run += ["--timeout", f"{args.timeout:g}"] if args.timeout is not None else []
                code = harness_main([*run, "--", *command])
                if code not in (0, 1):  # no verdicts to grade: the run said why
                    return code
                report = load_report(path)
    except ReportError as error:
        print(f"harness scorecard: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    card = scorecard(report, builtin_names())
    print(render_console(card), end="")
    if args.markdown:
        Path(args.markdown).write_text(render_markdown(card), encoding="utf-8")
    if args.badge:
        Path(args.badge).write_text(render_badge(card, args.label), encoding="utf-8")
    if args.fail_under and (card.grade is None or card.grade > args.fail_under):
        return EXIT_BELOW
    return EXIT_GRADED
