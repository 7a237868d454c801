"""``harness scorecard``: marks, grades and what is written, from reports made by real runs
and from small hand-made ones for the edges (not exercised, inconclusive, interrupted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.model.builtin_scenarios import builtin_names
from harness.scorecard import (
    CATEGORIES,
    ReportError,
    category_of,
    grade_of,
    load_report,
    mark_of,
    scorecard,
)
from harness.scorecard_render import render_badge, render_console, render_markdown

ROOT = Path(__file__).resolve().parents[2]
SMTPLIB = [sys.executable, str(ROOT / "examples" / "smtplib" / "send.py"), "--host", "{host}",
           "--port", "{port}", "--tls", "{tls}", "--cafile", "{cafile}", "--timeout", "2"]


def result(name: str, outcome: str = "passed", **extra: Any) -> dict[str, Any]:
    """One scenario of a JSON report, as small as the scorecard reads it."""
    return {"scenario": name, "outcome": outcome, "passed": outcome == "passed",
            "expectations": [], **extra}


def check(name: str, status: str, level: str = "violation") -> dict[str, str]:
    return {"name": name, "status": status, "level": level, "detail": ""}


def test_every_category_of_the_issue_is_there_and_names_decide() -> None:
    titles = [c.title for c in CATEGORIES]
    for wanted in ("Retry on transient failures", "Backoff", "Timeouts", "Permanent failures",
                   "Certificate verification", "STARTTLS safety", "Duplicates",
                   "Idle reconnect"):
        assert wanted in titles
    expected = {"no-fault": "controls", "mail-450": "transient", "greylist": "transient",
                "banner-421-throttle": "backoff", "never-answers": "timeouts",
                "dot-554": "permanent", "rcpt-550-partial": "permanent",
                "cert-expired-starttls": "certificates", "starttls-454-once": "starttls",
                "store-then-drop": "duplicates", "idle-421-between-messages": "idle",
                "auth-535": "permanent", "auth-454": "transient", "something-new": "other",
                "class-mismatch-451": "transient", "class-mismatch-550": "permanent",
                "no-esmtp-starttls": "starttls", "outage-never-ends": "backoff",
                "silent-after-rcpt": "timeouts", "backoff-reset-after-success": "backoff",
                "herd-outage": "backoff", "stop-reading-mid-data": "timeouts",
                "idle-timeout-421": "idle", "implicit-plaintext-server": "starttls",
                "auth-required": "transient", "size-limit-552": "permanent",
                "rcpt-452-too-many": "transient"}
    assert {name: category_of(name).key for name in expected} == expected


def test_only_a_passed_scenario_earns_credit() -> None:
    report = {"scenarios": [
        result("no-fault"),
        result("latency-link", "not-exercised", why_not_exercised=["the client never connected"]),
        result("bandwidth-link", "passed", expectations=[check("finishes-in-time",
                                                                "inconclusive")]),
        result("cert-expired-starttls", "interrupted", why_not_exercised=["interrupted"]),
        result("cert-expired-implicit", "failed", expectations=[
            check("refuses-bad-certificate", "failed"), check("advice", "failed", "advisory")]),
    ]}
    marks = {m.scenario: m for m in map(mark_of, report["scenarios"])}
    assert [marks[n].mark for n in ("no-fault", "latency-link", "bandwidth-link",
                                    "cert-expired-starttls", "cert-expired-implicit")] == [
        "passed", "not-exercised", "inconclusive", "interrupted", "failed"]
    assert marks["latency-link"].why == "the client never connected"
    assert marks["bandwidth-link"].why == "finishes-in-time"
    assert marks["cert-expired-implicit"].why == "refuses-bad-certificate"  # not the advisory
    card = scorecard(report)
    controls = next(c for c in card.categories if c.category.key == "controls")
    assert (controls.credited, controls.total, controls.grade) == (1, 3, "F")
    assert card.credited == 1 and card.total == 5 and card.grade == "F"


def test_a_report_without_outcomes_is_read_by_passed() -> None:
    report = {"scenarios": [{"scenario": "no-fault", "passed": True, "expectations": []},
                            {"scenario": "dot-554", "passed": False, "expectations": []}]}
    assert [m.mark for m in map(mark_of, report["scenarios"])] == ["passed", "failed"]


def test_missing_catalogue_scenarios_count_as_not_run() -> None:
    card = scorecard({"scenarios": [result("no-fault")]}, catalogue=builtin_names())
    assert card.total == len(builtin_names())
    assert card.credited == 1
    assert card.count("not-run") == len(builtin_names()) - 1
    assert card.grade == "F"


def test_grades_and_the_overall_grade_is_the_lowest() -> None:
    assert [grade_of(s) for s in (1.0, 0.95, 0.9, 0.8, 0.6, 0.2)] == ["A", "B", "B", "C", "D",
                                                                      "F"]
    names = [f"cert-{i}" for i in range(10)]
    report = {"scenarios": [result("no-fault")] + [result(n) for n in names[:9]]
              + [result(names[9], "failed")]}
    card = scorecard(report)
    assert {c.category.key: c.grade for c in card.graded} == {"controls": "A",
                                                             "certificates": "B"}
    assert card.grade == "B"


def test_not_a_report_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ReportError, match="not a JSON report"):
        load_report(bad)
    bad.write_text('{"scenarios": [{"no": "name"}]}')
    with pytest.raises(ReportError, match="harness JSON report"):
        load_report(bad)
    with pytest.raises(ReportError, match="cannot read"):
        load_report(tmp_path / "missing.json")


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scorecard", str(tmp_path / "missing.json")]) == 2
    assert main(["scorecard"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "cannot read" in err and "not both" in err


@pytest.mark.slow
def test_scorecard_of_a_real_run_names_what_failed(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """smtplib without its retry loop: the throttle fails (no credit, named), the rest of
    what ran is credited; the Markdown and the badge say the same."""
    report = tmp_path / "report.json"
    scenarios = ["no-fault", "banner-421-throttle", "dot-554", "cert-expired-starttls"]
    assert main(["run", "-j", "4", "--json", str(report), *scenarios, "--", *SMTPLIB,
                 "--attempts", "1"]) == 1
    capsys.readouterr()
    markdown, badge = tmp_path / "card.md", tmp_path / "badge.svg"
    code = main(["scorecard", str(report), "--markdown", str(markdown), "--badge", str(badge),
                 "--fail-under", "C"])
    out = capsys.readouterr().out
    assert code == 1  # F: below C
    card = scorecard(json.loads(report.read_text()), builtin_names())
    assert out == render_console(card)
    assert card.count("failed") == 1 and card.credited == 3
    backoff = next(c for c in card.categories if c.category.key == "backoff")
    throttle = next(m for m in backoff.uncredited if m.scenario == "banner-421-throttle")
    assert throttle.mark == "failed"  # the others of the category did not run: not-run
    assert "banner-421-throttle (failed: " in out
    assert markdown.read_text() == render_markdown(card)
    assert badge.read_text() == render_badge(card)
    assert "F 3/" in badge.read_text()


@pytest.mark.slow
def test_scorecard_runs_the_catalogue_through_harness_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With a command, the run is ``harness run`` itself (here limited to two scenarios),
    its report kept with --json, and graded against the whole catalogue."""
    from harness.scorecard_cli import scorecard_command

    runs: list[list[str]] = []

    def two_scenarios(argv: list[str]) -> int:
        runs.append(argv)
        split = argv.index("--")
        return main([*argv[:split], "no-fault", "dot-554", *argv[split:]])

    args = _parser_args(["scorecard", "--json", str(tmp_path / "r.json"), "-j", "2"])
    assert scorecard_command(args, SMTPLIB, two_scenarios) == 0
    assert runs[0][:2] == ["run", "-j"]
    card = scorecard(load_report(tmp_path / "r.json"), builtin_names())
    assert card.credited == 2 and card.count("not-run") == len(builtin_names()) - 2
    assert capsys.readouterr().out.endswith(render_console(card))


def _parser_args(argv: list[str]) -> Any:
    from harness.cli import _parser

    return _parser().parse_args(argv)


def test_a_category_none_of_whose_scenarios_was_exercised_has_no_grade() -> None:
    """A client that opens a new connection per message meets no idle timeout: the idle
    scenarios are not exercised, earn no credit, and neither grade the category nor pull
    the overall grade down; one exercised and failed scenario would."""
    unexercised = {"scenarios": [result("no-fault"), *(
        result(name, "not-exercised", why_not_exercised=["no connection was reused"])
        for name in ("idle-timeout-421", "idle-timeout-reset"))]}
    card = scorecard(unexercised)
    idle = next(c for c in card.categories if c.category.key == "idle")
    assert idle.grade is None and idle.credited == 0 and idle.total == 2
    assert card.grade == "A" and card.credited == 1 and card.total == 3
    assert "-  Idle reconnect" in render_console(card)
    failed = {"scenarios": [*unexercised["scenarios"][:2], result("idle-timeout-reset", "failed")]}
    assert scorecard(failed).grade == "F"
