"""The corpus's files extend bases in a sibling folder: allowed, as a user would with
``--extends-dir``."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.model.load import EXTENDS_DIRS_ENV


@pytest.fixture(autouse=True)
def corpus_bases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXTENDS_DIRS_ENV, str(Path(__file__).parent / "bases"))
