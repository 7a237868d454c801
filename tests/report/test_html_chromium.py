"""Real scenarios, real clients, the HTML report rendered by headless Chromium.

Chromium is Debian's ``chromium`` package (scripts/test.sh installs it when it can); it
opens the file with networking features off and a fresh profile, and what it rendered is
read back with ``--dump-dom`` and ``--screenshot``.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.batch import resolve, run_batch
from harness.cli import main
from harness.examples.client import DEMO_COMMAND
from harness.report import write_html
from harness.verdicts import calibrate
from tests.report.page import Page

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test.sh"
                       " installs Debian's chromium when run as root)"),
    pytest.mark.slow,
]

NEVER_RETRIES = [sys.executable, "-c",
                 "import smtplib,sys; s=smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=5);"
                 "s.sendmail('a@harness.test', ['b@harness.test'], 'Subject: x\\r\\n\\r\\nx');"
                 "s.quit()", "{host}", "{port}"]
WINDOW = (1100, 1400)


def chromium(tmp_path: Path, page: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium headless on ``page``: a file, or a URL."""
    assert CHROMIUM is not None
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args,
         page.as_uri() if isinstance(page, Path) else page],
        capture_output=True, text=True, timeout=120, check=False,
    )


def rendered(tmp_path: Path, page: Path) -> Page:
    """The DOM Chromium built from the file, parsed (and checked balanced) again."""
    done = chromium(tmp_path, page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout, done.stderr[-2000:]
    return Page(done.stdout)


def cards(page: Page) -> list[tuple[str, str]]:
    """Each scenario card in page order: (name, PASS or FAIL)."""
    found = []
    for card in page.find("details", cls="scenario"):
        (name,) = page.inside(card, "span", cls="name")
        pill = page.inside(card, "span", cls="pill")[0]
        found.append(("".join(name.text), "".join(pill.text)))
    return found


def failed_names(page: Page) -> set[str]:
    return {"".join(td.text) for row in page.find("tr", cls="fails")
            for td in page.inside(row, "td", cls="name")}


def test_cli_report_of_a_client_that_never_retries_renders_its_failure(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    code = main(["run", "no-fault", "banner-421-throttle", "--seed", "5", "--html", str(report),
                 "--", *NEVER_RETRIES])
    assert code == 1
    page = rendered(tmp_path, report)
    assert cards(page) == [("banner-421-throttle", "FAIL"), ("no-fault", "PASS")]
    assert {"delivered", "attempts", "client-exit"} <= failed_names(page)
    assert "1 failed" in page.text and "1 passed" in page.text and "seed5" in page.text.replace(
        " ", "").replace("\n", "")
    # the throttled scenario: one attempt, greeted with 421 by a fault, closed by the server
    bars = page.find("rect", cls="bar")
    assert len(bars) == 2  # one attempt per scenario: the client never retried
    assert any("421 4.7.0 Try again later" in (t.title or "") for t in page.find(
        "path", cls="m-fault"))


def test_demo_client_and_a_broken_one_in_one_report_with_a_screenshot(tmp_path: Path) -> None:
    calibration = calibrate()
    good = run_batch(resolve(["banner-421-throttle", "cert-expired-starttls"]),
                     list(DEMO_COMMAND), jobs=2, seed=9, calibration=calibration)
    broken_scenario = resolve(["banner-421-throttle"])
    broken = run_batch(broken_scenario, NEVER_RETRIES, seed=9, calibration=calibration)
    assert good[1].passed and not broken[0].passed  # a refused certificate; a client that gave up
    results = [*good, *broken]
    report = tmp_path / "report.html"
    write_html(report, results, seed=9)

    page = rendered(tmp_path, report)
    ordered = [r for r in results if not r.passed] + [r for r in results if r.passed]
    assert cards(page) == [(r.scenario.name, "PASS" if r.passed else "FAIL") for r in ordered]
    assert cards(page)[0] == ("banner-421-throttle", "FAIL")
    assert len(good[0].timeline.attempts) >= 3  # the bundled client retried the 421s
    bars = page.find("rect", cls="bar")
    assert len(bars) == sum(len(r.timeline.attempts) for r in results)
    assert any("TLS handshake failed" in "".join(t.text) for t in page.tags if t.name == "span")
    assert "waited" in page.text and "Delays between attempts" in page.text
    assert failed_names(page) == {f.name for r in results for f in r.verdict.failures}
    assert {"delivered", "attempts", "client-exit"} <= failed_names(page)

    shot = tmp_path / "report.png"
    done = chromium(tmp_path, report, "--hide-scrollbars",
                    f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == WINDOW
    assert len(data) > 40_000  # a blank page of this size compresses to a few kilobytes


def rendered_at(tmp_path: Path, report: Path, fragment: str) -> Page:
    """The DOM after the report's own script ran, opened at ``report#fragment``."""
    done = chromium(tmp_path, f"{report.as_uri()}#{fragment}", "--dump-dom",
                    "--virtual-time-budget=2000")
    assert done.returncode == 0, done.stderr[-2000:]
    return Page(done.stdout)


def test_the_report_s_script_expands_collapses_and_filters_by_outcome(tmp_path: Path) -> None:
    from tests.report.test_html import failing, passing

    report = tmp_path / "report.html"
    results = [passing(), failing()] + [passing(f"clean-{i}") for i in range(8)]  # folded: over 8
    write_html(report, results, seed=3)

    def states(page: Page) -> list[tuple[str, bool, bool]]:
        return [(card.attrs["id"] or "", "open" in card.attrs, "hidden" in card.classes)
                for card in page.find("details", cls="scenario")]

    first = states(rendered_at(tmp_path, report, ""))
    assert first[0][1:] == (True, False)  # the failure comes first, open
    assert all(not is_open and not hidden for _, is_open, hidden in first[1:])

    expanded = states(rendered_at(tmp_path, report, "expand=all"))
    assert all(is_open and not hidden for _, is_open, hidden in expanded)

    collapsed = states(rendered_at(tmp_path, report, "expand=none"))
    assert not any(is_open for _, is_open, _ in collapsed)

    failed_only = rendered_at(tmp_path, report, "show=failed")
    assert [hidden for _, _, hidden in states(failed_only)] == [False] + [True] * 9
    rows = [row for row in failed_only.find("tr", cls="row") if "hidden" not in row.classes]
    assert len(rows) == 1 and "failed" in rows[0].classes
