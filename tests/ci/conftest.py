"""A checkout as a new user gets it, its wheel and sdist, and fresh virtual environments.

Building runs offline: the wheel is built without build isolation (with the setuptools of
the test environment), and a fresh environment gets the harness's dependencies from the
test environment through a ``.pth`` file, so only the harness itself is installed from
the wheel, as ``pip install`` would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tracked_files() -> list[str]:
    """The files of the checkout that git would commit (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
        capture_output=True, check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the packaging tests copy the files git tracks")
    return [name for name in listed.stdout.decode().split("\0")
            if name and (ROOT / name).is_file()]


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's files, so that building leaves the worktree alone."""
    copy = tmp_path_factory.mktemp("checkout")
    for name in tracked_files():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    return copy


@pytest.fixture(scope="session")
def wheel(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(out), str(checkout)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("smtp_fault_harness-*.whl")
    return built


@pytest.fixture(scope="session")
def sdist(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta as b;"
         " b.build_sdist(sys.argv[1])", str(out)],
        cwd=checkout, check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("smtp_fault_harness-*.tar.gz")
    return built


@dataclass(frozen=True)
class Venv:
    """A fresh virtual environment: its ``bin`` folder and its python."""

    path: Path

    @property
    def bin(self) -> Path:
        return self.path / ("Scripts" if sys.platform == "win32" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self) -> dict[str, str]:
        """An environment whose ``python``, ``pip`` and ``harness`` are this venv's, and
        whose pip installs offline (the dependencies are already there)."""
        import os

        return {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
                "VIRTUAL_ENV": str(self.path), "PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture
def venv(tmp_path: Path) -> Iterator[Venv]:
    """A fresh venv with pip, that finds the harness's dependencies but not the harness."""
    created = Venv(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(created.path)], check=True,
                   capture_output=True, timeout=120)
    purelib = subprocess.run(
        [str(created.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    (Path(purelib) / "harness-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    yield created
