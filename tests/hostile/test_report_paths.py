"""Report paths: checked before the run starts (a usage error, exit 2, before any client
runs), and if writing fails at the end anyway the other reports are still written and
the exit code says so."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.paths import EXIT_REPORT_FAILED

pytestmark = pytest.mark.timeout(120)


def marker_client(marker: Path, then: str = "") -> list[str]:
    """A client that leaves a file behind (so a test can tell it ran), then runs ``then``."""
    return [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()\n{then}"]


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize("where", ["missing-folder", "a-folder"])
def test_an_unwritable_report_path_is_a_usage_error_before_any_client_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, where: str) -> None:
    report = tmp_path / "no-such-folder" / "r.json" if where == "missing-folder" else tmp_path
    marker = tmp_path / "client-ran"
    if command == "run":
        argv = ["run", "no-fault", "--json", str(report), "--", *marker_client(marker)]
    else:
        argv = ["serve", "no-fault", "--port", "1", "--json", str(report)]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"harness: error: --json {report}: ")
    assert ("no folder" if where == "missing-folder" else "is a folder") in error
    assert "Traceback" not in error
    assert not marker.exists()


def test_a_report_that_fails_at_the_end_leaves_the_others_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The folder of the JSON report is there when the run starts, and gone by its end.
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    junit = tmp_path / "junit.xml"
    code = main(["run", "no-fault", "--json", str(doomed / "r.json"), "--junit", str(junit),
                 "--timeout", "10", "--", *marker_client(
                     tmp_path / "ran", f"import shutil; shutil.rmtree({str(doomed)!r})")])
    error = capsys.readouterr().err
    assert code == EXIT_REPORT_FAILED
    assert f"--json {doomed / 'r.json'}: not written: " in error
    assert junit.read_text().startswith("<?xml")
