"""The package a new user installs: an sdist and a wheel build from a checkout and carry
the right metadata and files (tests/packaging installs the wheel in a fresh environment)."""

from __future__ import annotations

import email
import tarfile
import zipfile
from importlib import metadata as installed
from pathlib import Path

PROJECT = installed.metadata("smtp-fault-harness")  # the test environment's, from pyproject


def test_the_wheel_s_metadata_is_the_project_s(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(metadata_name))
        (entry_points_name,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(entry_points_name).decode()
    for field in ("Name", "Version", "Requires-Python", "Summary", "License"):
        assert metadata[field] == PROJECT[field], field
    assert metadata["Requires-Python"] == ">=3.10"
    assert sorted(metadata.get_all("Requires-Dist") or []) == sorted(
        PROJECT.get_all("Requires-Dist") or [])
    assert "harness = harness.cli:main" in entry_points
    assert "harness = harness.pytest_plugin" in entry_points
    assert metadata.get_payload().startswith("# ")  # the README is the long description
    assert any(n.endswith("py.typed") for n in names)
    assert sum(n.endswith(".yaml") for n in names) >= 60  # the catalogue
    assert not any(n.startswith("tests/") for n in names)


def test_the_sdist_holds_what_builds_the_wheel(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert {"pyproject.toml", "README.md", "harness/cli.py"} <= set(names)
    assert sum(n.endswith(".yaml") for n in names) >= 60
