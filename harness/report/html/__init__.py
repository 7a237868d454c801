"""The HTML report: one self-contained file a person opens instead of reading logs.

Per scenario: a timeline picture of the attempts (one bar per connection, from accept to
close, coloured by how it closed, with the faults, toxics, TLS handshakes and stored
messages marked on it), the measured delays between attempts beside the declared and the
fitted envelope, the verdict with its evidence, the client's output, every attempt's
transcript, and the command line that replays it. :mod:`.page` lays it out,
:mod:`.drawing` draws the pictures, ``report.css`` and ``report.js`` style it and fold or
filter it; :mod:`.markup` escapes everything that came from the client or the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.outcome import RunResult
from harness.report.html.page import OPEN_ALL_UP_TO, html_report

__all__ = ["OPEN_ALL_UP_TO", "html_report", "write_html"]


def write_html(path: str | Path, results: Sequence[RunResult], seed: int | None,
               command: Sequence[str] | None = None) -> None:
    """Write the HTML report of ``results`` (``seed``: the ``--seed`` given, if any;
    ``command``: the client command given, for the replay lines)."""
    Path(path).write_text(html_report(results, seed, command), encoding="utf-8")
