"""The package a new user installs: an sdist and a wheel build from a checkout, carry the
right metadata and files, and the wheel installed in a fresh environment runs."""

from __future__ import annotations

import email
import subprocess
import tarfile
import zipfile
from importlib import metadata as installed
from pathlib import Path

from tests.ci.conftest import Venv

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


def test_the_wheel_installed_in_a_fresh_environment_runs(wheel: Path, venv: Venv) -> None:
    subprocess.run([str(venv.python), "-m", "pip", "install", "--quiet", str(wheel)],
                   env=venv.env(), check=True, capture_output=True, timeout=300)
    where = subprocess.run([str(venv.python), "-c", "import harness; print(harness.__file__)"],
                           env=venv.env(), cwd=venv.path, check=True, capture_output=True,
                           text=True)
    assert Path(where.stdout.strip()).is_relative_to(venv.path)
    listed = subprocess.run([str(venv.bin / "harness"), "list"], env=venv.env(), cwd=venv.path,
                            check=True, capture_output=True, text=True, timeout=120)
    assert len(listed.stdout.splitlines()) >= 60 and "no-fault" in listed.stdout
    ran = subprocess.run(
        [str(venv.bin / "harness"), "run", "no-fault", "banner-421-throttle", "--",
         str(venv.python), "-m", "harness.examples.client", "--host", "{host}", "--port",
         "{port}", "--tls", "{tls}", "--cafile", "{cafile}", "--timeout", "2"],
        env=venv.env(), cwd=venv.path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "2 passed, 0 failed" in ran.stdout
