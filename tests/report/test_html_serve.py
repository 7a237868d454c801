"""``--html`` on ``harness run`` and ``harness serve``: the option reaches the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from tests.report.page import Page


def test_serve_writes_the_html_report_even_when_no_client_came(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "serve.html"
    code = main(["serve", "no-fault", "--port", "0", "--timeout", "0.3", "--html", str(report)])
    assert code == 4, capsys.readouterr().out  # no client came: not exercised
    page = Page(report.read_text(encoding="utf-8"))
    assert [t.attrs["id"] for t in page.find("details", cls="scenario")] == ["scenario-no-fault"]
    assert "external client; time limit reached" in page.text
    assert "never connected" in page.text
    assert {"".join(td.text) for row in page.find("tr", cls="fails")
            for td in page.inside(row, "td", cls="name")} == {"delivered"}  # attempts: skipped


def test_html_option_is_offered_by_run_and_serve(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("run", "serve"):
        assert main([command, "--help"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "--html FILE write the HTML report here" in out
