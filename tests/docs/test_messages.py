"""Messages the docs quote are the ones the harness prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.pytest_plugin import select_scenarios

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_marker_s_did_you_mean_is_quoted_as_printed() -> None:
    quoted = re.search(r"```text\n(@pytest\.mark\.smtp_scenario: no scenario '([^']+)'.*?)\n```",
                       (DOCS / "pytest.md").read_text())
    assert quoted is not None
    with pytest.raises(pytest.fail.Exception) as failure:
        select_scenarios([quoted.group(2)], None)
    assert str(failure.value) == quoted.group(1)
