"""The end of every gate command (``run``, ``serve``, ``demo``, ``merge``): the summary,
every report asked for, and the exit code, in one place.

Each report is written even when another cannot be (a full disk, a path that went away
during the run); a report that could not be written makes the exit code 3 (an interrupted
run keeps its 130 or 143).
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.outcome import RunResult, exit_code
from harness.report import ConsoleReporter, write_html, write_json, write_junit
from harness.report.json_report import write_document
from harness.report.paths import EXIT_REPORT_FAILED, write_reports


def conclude(
    results: Sequence[RunResult],
    console: ConsoleReporter,
    *,
    seed: int | None = None,
    shard: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
    document: Mapping[str, Any] | None = None,
    json_path: str | Path | None = None,
    junit_path: str | Path | None = None,
    html_path: str | Path | None = None,
    accept_not_exercised: Collection[str] = (),
    interrupted_by: str | None = None,
) -> int:
    """Print the summary, write the reports, return the exit code (see
    :func:`harness.outcome.exit_code`). ``shard`` names a shard's share in its JSON;
    ``document`` is a JSON report already made (shards merged); ``command`` is the client
    command, for the HTML report's replay lines."""
    console.summary(results, accept_not_exercised)
    unwritten = write_reports([
        ("--json", _text(json_path), lambda p: write_document(p, document)
         if document is not None else write_json(p, results, seed, shard)),
        ("--junit", _text(junit_path), lambda p: write_junit(p, results, accept_not_exercised)),
        ("--html", _text(html_path), lambda p: write_html(p, results, seed, command)),
    ])
    for problem in unwritten:
        print(f"harness: error: {problem}", file=sys.stderr)
    if html_path and not any(problem.startswith("--html ") for problem in unwritten):
        console.note(f"HTML report: {html_path}")
    code = exit_code(((r.name, r.outcome) for r in results),
                     accept_not_exercised=accept_not_exercised, interrupted_by=interrupted_by)
    return EXIT_REPORT_FAILED if unwritten and interrupted_by is None else code


def _text(path: str | Path | None) -> str | None:
    return None if path is None else str(path)
