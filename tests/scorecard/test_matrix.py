"""The client resilience matrix and the recipe pages' measured tables are what the
generator makes of the committed reports, and the reports keep every mark they had."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.scorecard import scorecard
from harness.scorecard_matrix import build, changes, excerpt, measured_block, slim

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


def _report(marks: dict[str, str], **measured: str) -> dict[str, object]:
    """A slimmed report whose scenarios have the given outcomes (an inconclusive one by
    its backoff check)."""
    scenarios = []
    for name, outcome in marks.items():
        inconclusive = outcome == "inconclusive"
        scenarios.append({
            "scenario": name, "outcome": "passed" if inconclusive else outcome,
            "passed": outcome == "passed", "why_not_exercised": (
                ["the client never sent AUTH"] if outcome == "not-exercised" else []),
            "expectations": [{"name": "backoff.growth", "level": "violation",
                              "status": "inconclusive", "detail": "noise"}]
            if inconclusive else []})
    return {"measured": {"client": "c", "configuration": "recipe", "version": "1",
                         "command": "cmd", "commit": "abc", "date": "2026-01-02", **measured},
            "scenarios": scenarios}


def test_a_measurement_keeps_the_marks_that_changed_since_the_previous_one() -> None:
    before = _report({"ehlo-421": "inconclusive", "no-fault": "passed", "gone": "failed"},
                     date="2026-01-01")
    after = _report({"ehlo-421": "passed", "no-fault": "passed", "auth-421": "not-exercised"})
    since = changes(before, after)
    assert since == {"date": "2026-01-01", "commit": "abc", "changed": [
        {"scenario": "ehlo-421", "before": "inconclusive (backoff.growth)", "after": "passed"}]}
    assert changes(_report({}, configuration="defaults"), after) is None  # another row


def test_the_pages_say_when_and_how_it_was_measured_and_what_changed(tmp_path: Path) -> None:
    after = _report({"ehlo-421": "passed", "no-fault": "passed", "auth-421": "not-exercised"})
    after["since_previous"] = changes(_report({"ehlo-421": "inconclusive"}), after)
    (tmp_path / "c.recipe.json").write_text(json.dumps(after))
    page = build(tmp_path)
    assert "Measured on 2026-01-02" in page and "`bash scripts/measure-recipes.sh`" in page
    assert "| c 1 | recipe | D | 2/3 | 1 | 0 |" in page  # passed, not exercised, inconclusive
    assert "`ehlo-421` inconclusive (backoff.growth) → passed" in page
    block = measured_block(tmp_path, "c")
    assert "| recipe | 2/3 | 0 | 1 | 0 | D | `auth-421` (not-exercised) |" in block
    assert "measured on 2026-01-02 by `bash scripts/measure-recipes.sh`" in block
    assert "A *not exercised* scenario's situation never arose" in block
    assert "`ehlo-421` inconclusive (backoff.growth) → passed" in block
