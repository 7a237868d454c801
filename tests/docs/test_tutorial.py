"""docs/tutorial.md, run as written, in order, in a fresh folder: every file it saves is
saved, every command it shows is run, and every output it shows is compared with what the
command printed, and its exit code with the one it states.

An output block is the block after ``<!-- output, exit N -->``; it matches the real output
line by line, where a line of ``...`` stands for any lines, ``...`` in a line for any text,
and numbers with a fraction (durations, timer noise) and long integers (seeds) for any
number. A line may end in what a loaded machine adds and the tutorial, written on an idle
one, does not show: a count of inconclusive checks (timing the noise kept undecided),
never a different outcome. Blocks after ``<!-- snippet: not run (why) -->`` are not run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
STEP = re.compile(
    r"(?:<!-- (?P<marker>[^>]*?) -->\n)?```(?P<lang>\w*)[^\n]*\n(?P<body>.*?)```", re.DOTALL
)


#: What timing noise may add to a line: "(1 inconclusive)", "; 2 inconclusive check(s)".
UNDECIDED = r"(?:[ ;,(]+\d+ inconclusive[^\n]*)?"


def expected_pattern(expected: str) -> re.Pattern[str]:
    """The regular expression an output block stands for (see the module's docstring)."""
    parts = []
    for line in expected.strip("\n").splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        body = re.escape(line.strip())
        body = body.replace(r"\.\.\.", r"[^\n]*")
        body = re.sub(r"\d+\\\.\d+|\d{10,}", r"\\d+(?:\\.\\d+)?", body)
        body = re.sub(r"(?:\\ )+", r"\\s+", body)
        parts.append(r"[ \t]*" + body + UNDECIDED + r"[ \t]*\n")
    return re.compile("".join(parts))


def argv(line: str) -> list[str]:
    """A command of the tutorial as this test runs it: ``python`` and ``harness`` are
    this interpreter's."""
    words = shlex.split(line)
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    if words[0] == "harness":
        return [sys.executable, "-m", "harness", *words[1:]]
    raise AssertionError(f"the tutorial runs only python and harness commands: {line}")


@pytest.mark.slow
@pytest.mark.timeout(600)  # its commands' own bound: the whole catalogue runs in step 7
def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    text = TUTORIAL.read_text()
    ran: subprocess.CompletedProcess[str] | None = None
    compared = 0
    for step in STEP.finditer(text):
        marker, lang, body = step.group("marker") or "", step.group("lang"), step.group("body")
        if marker.startswith("snippet: not run"):
            continue
        if marker.startswith("file: "):
            (tmp_path / marker.removeprefix("file: ")).write_text(body)
        elif marker.startswith("output, exit "):
            assert ran is not None, f"an output block before any command: {body[:80]}"
            where = f"after `{shlex.join(ran.args[2:])}`"
            assert ran.returncode == int(marker.removeprefix("output, exit ")), (
                f"{where}: exit {ran.returncode}\n{ran.stdout}{ran.stderr}")
            assert expected_pattern(body).search(ran.stdout), (
                f"{where}, the tutorial shows:\n{body}\nbut the command printed:\n{ran.stdout}")
            compared += 1
        elif lang == "sh":
            (line,) = [line for line in body.splitlines() if line.strip()]
            ran = subprocess.run(argv(line), cwd=tmp_path, capture_output=True, text=True,
                                 timeout=600, check=False)
    assert compared >= 6
    assert (tmp_path / "report.html").is_file() and (tmp_path / "junit.xml").is_file()


@pytest.mark.parametrize(("expected", "actual", "matches"), [
    ("[1/1] PASS no-fault   attempts=1  0.39s", "[1/1] PASS no-fault attempts=1  12.5s\n", True),
    ("[1/1] PASS no-fault   attempts=1  0.39s", "[1/1] PASS no-fault attempts=2  0.4s\n", False),
    ("seed 16920281248031961670; ok", "seed 3; ok\n", True),
    ("a\n...\nz", "a\nb\nc\nz\n", True),
    ("a\nz", "a\nb\nz\n", False),
    ("--- x: The server ... closed", "--- x: The server is busy and closed\n", True),
    ("[1/1] PASS x  1.59s", "[1/1] PASS x  1.14s (1 inconclusive)\n", True),
    ("1 passed, 0 failed", "1 passed, 0 failed; 1 inconclusive check(s), 1 advisory\n", True),
    ("[1/1] PASS x  1.59s", "[1/1] FAIL x  1.14s (1 inconclusive)\n", False),
    ("1 passed, 0 failed", "1 passed, 0 failed; 1 advisory\n", False),
])
def test_an_output_block_matches_only_what_it_shows(expected: str, actual: str,
                                                    matches: bool) -> None:
    assert bool(expected_pattern(expected).search(actual)) is matches
