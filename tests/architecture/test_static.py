"""The code is typed and linted as the style guide asks: mypy (strict, from pyproject.toml)
over the package and the benchmarks, ruff over everything. The benchmarks have no test
of their own: a harness API they call that changed shape fails here, not halfway
through a fifteen-minute benchmark run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def check(*command: str) -> None:
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    check("mypy", "harness", "benchmarks")


def test_ruff_is_clean() -> None:
    check("ruff", "check", ".")
