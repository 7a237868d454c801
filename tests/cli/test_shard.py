"""Sharding and merging: ``harness run --shard I/N`` splits the selection deterministically
and in balance; ``harness merge`` gives back the unsharded run's verdicts, reports and exit
code, and refuses an incomplete set of shards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.batch import resolve
from harness.cli import main
from harness.errors import ClientError
from harness.merge import merge_documents, result_from_dict
from harness.model import Scenario
from harness.report import REPORT_SCHEMA
from harness.shard import Shard, expected_s, split
from tests.ci.compare import SELECTION, WRONG_EXPECTATION, junit_cases, verdicts

CLIENT = [sys.executable, "-m", "harness.examples.client", "--host", "{host}", "--port",
          "{port}", "--tls", "{tls}", "--cafile", "{cafile}", "--timeout", "2"]
def named(names: list[str]) -> list[Scenario]:
    return [Scenario.from_dict({"name": name}) for name in names]


# -- the split ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "2", "a/b", "1/3/4", ""])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(ClientError, match="--shard"):
        Shard.parse(text)
    assert main(["run", "no-fault", "--shard", text, "--", "true"]) == 2


@settings(deadline=None)  # Hypothesis's 200 ms per example is a wall clock; load breaks it
@given(durations=st.lists(st.floats(0.0, 100.0), max_size=40), count=st.integers(1, 6))
def test_every_scenario_runs_in_exactly_one_shard_in_selection_order_and_in_balance(
    durations: list[float], count: int
) -> None:
    scenarios = named([f"s{i}" for i in range(len(durations))])
    measured = {s.name: d for s, d in zip(scenarios, durations)}
    shares = split(scenarios, count, measured)
    assert len(shares) == count
    assert sorted(s.name for share in shares for s in share) == sorted(measured)
    for share in shares:  # each keeps the selection's order
        assert [scenarios.index(s) for s in share] == sorted(scenarios.index(s) for s in share)
    loads = [sum(measured[s.name] for s in share) for share in shares]
    # longest-first greedy: no shard is over the mean by more than one scenario
    assert max(loads) <= sum(durations) / count + max(durations, default=0.0) + 1e-9
    assert split(scenarios, count, measured) == shares  # deterministic


def test_the_estimate_spreads_the_catalogue_s_slow_scenarios() -> None:
    catalogue = resolve([])
    slow = sorted(catalogue, key=expected_s, reverse=True)[:3]
    assert "never-answers" in {s.name for s in slow}
    shares = split(catalogue, 3)
    assert all(sum(s in share for s in slow) == 1 for share in shares)
    assert max(map(len, shares)) - min(map(len, shares)) <= len(catalogue) // 2


# -- merge: same verdicts, reports and exit code as one run ------------------------------


def harness(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as a CI job runs it."""
    return subprocess.run([sys.executable, "-m", "harness", *arguments], capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
def test_three_shards_merged_give_the_unsharded_run_s_verdicts_reports_and_exit_code(
    tmp_path: Path,
) -> None:
    wrong = tmp_path / "expects-no-delivery.yaml"
    wrong.write_text(WRONG_EXPECTATION)
    selection = [*SELECTION, str(wrong)]
    reports = ("--json", "{d}/report.json", "--junit", "{d}/junit.xml", "--html", "{d}/r.html")

    def run(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        directory.mkdir()
        paths = [part.format(d=directory) for part in reports]
        return harness("run", *selection, "-j", "4", "--seed", "11", *extra, *paths, "--",
                       *CLIENT)

    whole = run(tmp_path / "whole")
    shards = [run(tmp_path / f"shard{i}", "--shard", f"{i}/3") for i in (1, 2, 3)]
    merged_dir = tmp_path / "merged"
    merged_dir.mkdir()
    merged = harness("merge", *(str(tmp_path / f"shard{i}" / "report.json") for i in (3, 1, 2)),
                     *(part.format(d=merged_dir) for part in reports))

    assert whole.returncode == 1, whole.stdout + whole.stderr
    assert merged.returncode == whole.returncode, merged.stdout + merged.stderr
    assert sorted(s.returncode for s in shards) == [0, 0, 1]  # the failure is in one shard
    one = json.loads((tmp_path / "whole" / "report.json").read_text())
    together = json.loads((merged_dir / "report.json").read_text())
    jsonschema.validate(together, REPORT_SCHEMA)
    assert verdicts(together) == verdicts(one)
    assert together["passed"] is one["passed"] is False and "shard" not in together
    parts = [json.loads((tmp_path / f"shard{i}" / "report.json").read_text()) for i in (1, 2, 3)]
    assert sorted(len(p["scenarios"]) for p in parts) != [0, 0, len(selection)]

    assert junit_cases(merged_dir / "junit.xml") == junit_cases(tmp_path / "whole" / "junit.xml")
    page = (merged_dir / "r.html").read_text()
    assert "1 failed" in page and f"{len(selection) - 1} passed" in page
    assert "--- expects-no-delivery" in merged.stdout
    assert f"{len(selection) - 1} passed, 1 failed" in merged.stdout


def test_a_report_read_back_writes_the_same_record(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert main(["run", "banner-421-throttle", "--seed", "3", "--json", str(report), "--",
                 *CLIENT]) == 0
    (record,) = json.loads(report.read_text())["scenarios"]
    again = result_from_dict(record).to_dict()
    # the report keeps a message's size, not its content
    assert [m.pop("size") for m in record["messages"]] != []
    for m in again["messages"]:
        m.pop("size")
    # derived from the rounded p99.9, so it may differ in the last digit
    assert again["calibration"].pop("slack_floor_s") == pytest.approx(
        record["calibration"].pop("slack_floor_s"), abs=1e-5)
    assert again == record


def shard_report(index: int, count: int, names: list[str], selection: list[str],
                 seed: int | None = 5) -> dict[str, Any]:
    return {"seed": seed, "shard": {"index": index, "count": count, "selection": selection},
            "scenarios": [{"scenario": name} for name in names]}


@pytest.mark.parametrize(("reports", "message"), [
    ([shard_report(1, 2, ["a"], ["a", "b"])], "missing shard.* 2/2"),
    ([shard_report(1, 2, ["a"], ["a", "b"]), shard_report(1, 2, ["b"], ["a", "b"])],
     "shard 1/2 again"),
    ([shard_report(1, 2, ["a"], ["a", "b"]), shard_report(2, 2, [], ["a", "b"])],
     "missing: b"),
    ([shard_report(1, 2, ["a"], ["a", "b"]), shard_report(2, 2, ["b"], ["a", "c"])],
     "another selection"),
    ([shard_report(1, 2, ["a"], ["a", "b"]), shard_report(2, 2, ["b"], ["a", "b"], seed=6)],
     "seeds 5, 6"),
    ([shard_report(1, 2, ["a"], ["a", "b"]), {"seed": 5, "scenarios": []}],
     "expected a shard's report"),
    ([{"seed": 5}], "expected a JSON report"),
])
def test_merge_refuses_what_is_not_every_shard_of_one_run(
    reports: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ClientError, match=message):
        merge_documents([(f"r{i}.json", r) for i, r in enumerate(reports)])


def test_merge_of_an_unreadable_file_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["merge", str(broken), str(tmp_path / "absent.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and "broken.json" in err
    assert "Traceback" not in err
