"""The composite GitHub Action (``action.yml``) and the sharded workflow of the GitHub
recipe: the files are valid, and their steps' commands, run here for three shards and a
merge, give the same verdicts, JUnit cases and exit code as one unsharded run."""

from __future__ import annotations

import fnmatch
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.compare import SELECTION, WRONG_EXPECTATION, junit_cases, read, verdicts
from tests.ci.conftest import ROOT, Venv
from tests.ci.workflow import EXPRESSION, expand, run_composite
from tests.recipes.test_ci import documents

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def sharded_workflow() -> dict[str, Any]:
    (workflow,) = [d for d in documents("ci-github-actions.md")
                   if isinstance(d, dict) and "smtp-faults-merge" in d.get("jobs", {})]
    return workflow


def test_the_action_is_a_valid_composite_action() -> None:
    assert ACTION["name"] and ACTION["description"]
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in ACTION["inputs"].items():
        assert spec["description"], name
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name), name
        if spec.get("default"):  # every default is said in its description
            assert "default" in spec["description"], name
    ids = {step.get("id") for step in ACTION["runs"]["steps"]}
    for step in ACTION["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash"
            # inputs reach scripts through env, never pasted into the script's text
            assert not EXPRESSION.search(step["run"]), step["run"]
        text = yaml.safe_dump(step)
        for name in re.findall(r"inputs\.([\w-]+)", text):
            assert name in ACTION["inputs"], name
        for step_id in re.findall(r"steps\.([\w-]+)\.", text):
            assert step_id in ids, step_id
    for output in ACTION["outputs"].values():
        assert re.fullmatch(r"\$\{\{ steps\.gate\.outputs\.\w+ \}\}", output["value"])
    (upload,) = [s for s in ACTION["runs"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert "!cancelled()" in upload["if"]
    assert upload["with"]["path"].startswith("${{ inputs.report-dir }}")


def test_the_recipe_workflow_uses_the_action_as_it_is_declared() -> None:
    workflow = sharded_workflow()
    shards, merge = workflow["jobs"]["smtp-faults"], workflow["jobs"]["smtp-faults-merge"]
    assert shards["strategy"]["fail-fast"] is False
    assert "!cancelled()" in merge["if"] and merge["needs"] == "smtp-faults"
    for job in (shards, merge):
        for step in job["steps"]:
            if step.get("uses", "").split("@")[0].endswith("/smtp-fault-harness"):
                assert set(step["with"]) <= set(ACTION["inputs"]), step["with"]
    (download,) = [s for s in merge["steps"] if "download-artifact" in s.get("uses", "")]
    artifact = f"{ACTION['inputs']['artifact-name']['default']}-shard-2-of-3"
    assert fnmatch.fnmatch(artifact, download["with"]["pattern"])


def action_inputs(job: dict[str, Any], matrix: dict[str, str]) -> dict[str, str]:
    (step,) = [s for s in job["steps"] if "smtp-fault-harness@" in s.get("uses", "")]
    context = {f"matrix.{k}": v for k, v in matrix.items()}
    return {k: expand(str(v), context) for k, v in step["with"].items()}


def runner(tmp: Path, name: str) -> Path:
    """A job's workspace after ``actions/checkout``: the client, the extra scenario."""
    workdir = tmp / name
    shutil.copytree(ROOT / "examples" / "smtplib", workdir / "examples" / "smtplib")
    (workdir / "expects-no-delivery.yaml").write_text(WRONG_EXPECTATION)
    return workdir


@pytest.mark.slow
def test_the_recipe_s_shards_and_merge_give_the_unsharded_run_s_verdicts(
    tmp_path: Path, wheel: Path, venv: Venv
) -> None:
    workflow = sharded_workflow()
    selection = " ".join([*SELECTION, "expects-no-delivery.yaml"])
    env = venv.env()
    # the runner's python, without setup-python: the venv's, and the wheel for install
    common = {"scenarios": selection, "install": str(wheel)}

    def job(name: str, inputs: dict[str, str]) -> tuple[Path, Any]:
        workdir = runner(tmp_path, name)
        done = run_composite(ACTION, {**inputs, **common}, action_path=ROOT, workdir=workdir,
                             env=env)
        assert done.codes.get("install") == 0, done.logs  # the install step
        return workdir, done

    whole_dir, whole = job("whole", action_inputs(workflow["jobs"]["smtp-faults"],
                                                  {"shard": "1"}) | {"shard": ""})
    assert whole.codes["gate"] == 1, whole.logs

    merge_dir = runner(tmp_path, "merge")
    (merge_dir / "shards").mkdir()
    gates = []
    for shard in ("1", "2", "3"):
        workdir, done = job(f"shard{shard}",
                            action_inputs(workflow["jobs"]["smtp-faults"], {"shard": shard}))
        gates.append(done.codes["gate"])
        outputs = done.outputs["gate"]
        assert outputs["artifact"] == f"smtp-fault-reports-shard-{shard}-of-3"
        for written in (workdir / "smtp-fault-reports").iterdir():  # upload, download
            shutil.copy(written, merge_dir / "shards" / written.name)
    assert sorted(gates) == [0, 0, 1]

    merge_inputs = action_inputs(workflow["jobs"]["smtp-faults-merge"], {})
    merged = run_composite(ACTION, {**merge_inputs, "install": str(wheel)}, action_path=ROOT,
                           workdir=merge_dir, env=env)
    assert merged.codes["gate"] == whole.codes["gate"], merged.logs
    out = merged.outputs["gate"]
    assert verdicts(read(merge_dir / out["json"])) == verdicts(
        read(whole_dir / whole.outputs["gate"]["json"]))
    assert junit_cases(merge_dir / out["junit"]) == junit_cases(
        whole_dir / whole.outputs["gate"]["junit"])
    assert (merge_dir / out["html"]).is_file()
    junit_step = [s for s in workflow["jobs"]["smtp-faults-merge"]["steps"]
                  if "junit" in s.get("uses", "")]
    assert [s["with"]["report_paths"] for s in junit_step] == [out["junit"]]


def test_the_gate_without_a_client_says_so(tmp_path: Path, wheel: Path, venv: Venv) -> None:
    done = run_composite(ACTION, {"install": str(wheel)}, action_path=ROOT, workdir=tmp_path,
                         env=venv.env())
    assert done.codes == {"install": 0, "gate": 2}, done.logs
    assert "the client input is required" in done.logs[-1]
