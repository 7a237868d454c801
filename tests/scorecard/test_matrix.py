"""The client resilience matrix and the recipe pages' measured tables are what the
generator makes of the committed reports, and the reports keep every mark they had."""

from __future__ import annotations

import re
from pathlib import Path

from harness.scorecard import scorecard
from harness.scorecard_matrix import build, excerpt, measured_block, slim

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "recipes"
REPORTS = RECIPES / "reports"


def test_the_matrix_page_is_generated_from_the_committed_reports() -> None:
    assert (RECIPES / "matrix.md").read_text(encoding="utf-8") == build(REPORTS), (
        "docs/recipes/matrix.md differs from its reports: run"
        " python -m harness.scorecard_matrix build docs/recipes/reports"
        " --out docs/recipes/matrix.md --pages docs/recipes")


def test_each_recipe_page_shows_its_reports() -> None:
    pages = 0
    for page in sorted(RECIPES.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for name, block in re.findall(
                r"<!-- measured: ([\w.-]+) -->\n(.*?)<!-- end measured -->", text, re.S):
            assert block == measured_block(REPORTS, name), page.name
            pages += 1
    assert pages == 5  # Java, Go, PHP, Ruby, Perl


def test_every_measured_client_has_both_configurations() -> None:
    names = {path.name.split(".")[0] for path in REPORTS.glob("*.*.json")}
    assert names == {"jakarta-mail", "go-net-smtp", "phpmailer", "ruby-mail", "perl-net-smtp"}
    for name in names:
        assert (REPORTS / f"{name}.recipe.json").is_file()
        assert (REPORTS / f"{name}.defaults.json").is_file()


def test_slimming_keeps_the_marks_and_the_evidence() -> None:
    events = [{"t_s": 0.001 * i, "kind": "command", "text": f"C{i}"} for i in range(40)]
    report = {"harness_version": "x", "scenarios": [
        {"scenario": "no-fault", "outcome": "passed", "passed": True, "attempts": [
            {"index": 1, "closed_by": "client-quit", "events": events}],
         "client": {"stderr": "secret"},
         "expectations": [{"name": "delivered", "level": "violation", "status": "passed",
                           "detail": "once"}]},
        {"scenario": "ehlo-421", "outcome": "failed", "passed": False, "attempts": [
            {"index": i, "closed_by": "server-close", "events": events} for i in (1, 2, 3)],
         "client": {"exit_code": 0, "timed_out": False, "stderr": "x" * 2000},
         "expectations": [{"name": "closes-after-421", "level": "violation",
                           "status": "failed", "detail": "HELO after 421"}]},
        {"scenario": "latency-link", "outcome": "not-exercised", "passed": False,
         "why_not_exercised": ["the client never connected"], "attempts": [],
         "expectations": []},
    ]}
    kept = slim(report, {"client": "c", "configuration": "recipe", "version": "1",
                         "command": "cmd", "commit": "abc"})
    assert scorecard(kept) == scorecard(report)
    passed, failed, unexercised = kept["scenarios"]
    assert "attempts" not in passed and "client" not in passed and passed["attempt_count"] == 1
    assert len(failed["attempts"]) == 2 and len(failed["client"]["stderr"]) == 600
    assert excerpt(failed)[:3] == ["attempt 1 (closed by server-close):",
                                   "  ... 20 earlier events", "    0.020s C: C20"]
    assert unexercised["why_not_exercised"] == ["the client never connected"]
