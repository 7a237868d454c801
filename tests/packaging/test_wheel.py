"""The package as users get it: a built wheel carries the built-in catalogue.

The catalogue is the top-level ``scenarios/`` folder of the checkout; ``pyproject.toml``
maps it into the wheel as ``harness/_builtin_scenarios``. The wheel is installed into a
fresh virtual environment (its dependencies taken from this one's, so nothing is
downloaded) and run from outside the checkout, so only the wheel's copy can be found.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from setuptools import find_packages

from harness.examples.client import DEMO_COMMAND
from harness.model.builtin_scenarios import builtin_folder, builtin_names

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalogue_is_the_top_level_folder_of_yaml_files_only() -> None:
    assert builtin_folder() == ROOT / "scenarios"
    assert {p.suffix for p in builtin_folder().iterdir()} == {".yaml"}
    assert len(builtin_names()) >= 60


def test_every_package_under_harness_is_listed_in_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {"harness", *(f"harness.{p}" for p in find_packages(str(ROOT / "harness")))}
    assert set(listed["packages"]) - {"harness._builtin_scenarios"} == found
    assert listed["package-dir"] == {"harness._builtin_scenarios": "scenarios"}


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_lists_and_runs_the_catalogue(tmp_path: Path) -> None:
    built = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--wheel-dir", str(built), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = built.glob("smtp_fault_harness-*.whl")
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    # dependencies from this environment; its editable harness is not on that path
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    listed = subprocess.run(
        [fresh / "bin" / "harness", "list"], cwd=tmp_path, check=True, capture_output=True,
        text=True, timeout=120,
    ).stdout
    assert [line.split()[0] for line in listed.splitlines()] == builtin_names()
    folder = subprocess.run(
        [python, "-c", "from harness.model.builtin_scenarios import builtin_folder;"
         " print(builtin_folder())"],
        cwd=tmp_path, check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    assert folder == str(Path(site) / "harness" / "_builtin_scenarios")
    # the demo's client through the gate, as installed: catalogue, run path, reports
    gate = subprocess.run(
        [fresh / "bin" / "harness", "run", "no-fault", "cert-valid-starttls", "--html",
         "report.html", "--", *(str(python) if word == sys.executable else word
                                for word in DEMO_COMMAND)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "2 passed, 0 failed, 0 not exercised" in gate.stdout
    assert (tmp_path / "report.html").stat().st_size > 0
