"""docs/tutorial-pytest.md, run as written: the property test finds the QUIT bug in the
mailer, saves the shrunk plan, the saved scenario fails the mailer as a regression test,
and the fixed mailer passes everything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# see test_pytest_plugin.py: imported before any in-process inner session
import harness.engine
import harness.properties
import harness.strategies  # noqa: F401

pytest_plugins = ["pytester"]

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial-pytest.md"
SEED = 1
FILE = re.compile(r"<!-- file: (\S+) -->\n(?:<!-- snippet: [^>]*-->\n)?```\w+\n(.*?)```",
                  re.DOTALL)


@pytest.mark.slow
def test_the_tutorial_finds_saves_and_fixes_the_bug(pytester: pytest.Pytester) -> None:
    files = dict(FILE.findall(TUTORIAL.read_text()))
    assert set(files) == {"mailer.py", "test_mailer.py", "test_mailer_properties.py",
                          "test_mailer_regressions.py", "mailer_fixed.py"}
    for name, body in files.items():
        (pytester.path / name).write_text(body)
    pytester.makeini("[pytest]\naddopts = -p no:benchmark\n")

    pytester.runpytest("test_mailer.py").assert_outcomes(passed=1)

    # seeded: the tutorial's 100 random examples miss both bugs in some runs (2 in 7
    # were measured), and a test must find its bug every time; this seed finds one
    found = pytester.runpytest("test_mailer_properties.py", f"--hypothesis-seed={SEED}")
    found.assert_outcomes(failed=1)
    output = found.stdout.str()
    saved = (pytester.path / "tests" / "scenarios" / "found.yaml").read_text()
    # one of the mailer's two bugs, whichever Hypothesis meets first (the tutorial says so),
    # shrunk to a fault or two
    if "was delivered 2 times" in output:
        assert re.search(r"- at: quit\n  attempts: \d\n  reply:\s+(- )?'?4", saved), saved
    else:
        assert "violation closes-after-421" in output
        assert re.search(r"- at: ehlo\n  attempts: \d\n  reply:\s+(- )?'?421", saved), saved
    assert saved.count("- at:") <= 2

    regression = pytester.runpytest("test_mailer_regressions.py")
    regression.assert_outcomes(passed=1, errors=1)
    regression.stdout.fnmatch_lines(["*ERROR at teardown of test_regressions*",
                                     "*violation delivered*"])

    (pytester.path / "mailer.py").write_text(files["mailer_fixed.py"])
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
