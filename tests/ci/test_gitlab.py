"""The GitLab CI template (``ci/smtp-fault-harness.gitlab-ci.yml``) and the recipe that
includes it: the files are valid, and the template's scripts, run here as three parallel
jobs and a merge job, give the unsharded run's verdicts, JUnit cases and exit code."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.compare import SELECTION, WRONG_EXPECTATION, junit_cases, read, verdicts
from tests.ci.conftest import ROOT, Venv
from tests.ci.workflow import run_gitlab_job
from tests.recipes.test_ci import documents

TEMPLATE_PATH = ROOT / "ci" / "smtp-fault-harness.gitlab-ci.yml"
TEMPLATE = yaml.safe_load(TEMPLATE_PATH.read_text())
REPORTS = "smtp-fault-reports"


def recipe() -> dict[str, Any]:
    (document,) = [d for d in documents("ci-gitlab.md") if isinstance(d, dict) and "include" in d]
    return document


def test_the_template_s_jobs_are_hidden_and_keep_their_reports() -> None:
    assert {".smtp-faults", ".smtp-faults-merge"} <= set(TEMPLATE)
    assert all(name.startswith(".") for name in TEMPLATE if name != "variables")
    for job in (".smtp-faults", ".smtp-faults-merge"):
        assert TEMPLATE[job]["artifacts"]["when"] == "always"
        assert all(path.startswith(f"{REPORTS}/") for path in TEMPLATE[job]["artifacts"]["paths"])
        assert "$" not in "".join(TEMPLATE[job]["artifacts"]["paths"])  # expose_as needs it
    assert TEMPLATE[".smtp-faults-merge"]["when"] == "always"
    for name, value in TEMPLATE["variables"].items():
        assert name.startswith("SMTP_FAULTS_") and isinstance(value, str)


def test_the_recipe_includes_the_template_and_extends_its_jobs() -> None:
    document = recipe()
    assert document["include"] == [{"local": str(TEMPLATE_PATH.relative_to(ROOT))}]
    assert document["smtp-faults"]["extends"] == ".smtp-faults"
    assert document["smtp-faults-merge"]["extends"] == ".smtp-faults-merge"
    assert document["smtp-faults-merge"]["needs"] == ["smtp-faults"]
    for job in ("smtp-faults", "smtp-faults-merge"):
        assert set(document[job].get("variables", {})) <= set(TEMPLATE["variables"])


@pytest.mark.slow
def test_the_template_s_shards_and_merge_give_the_unsharded_run_s_verdicts(
    tmp_path: Path, wheel: Path, venv: Venv
) -> None:
    document = recipe()
    variables = {**document["smtp-faults"]["variables"], "SMTP_FAULTS_INSTALL": str(wheel),
                 "SMTP_FAULTS_SCENARIOS": " ".join([*SELECTION, "expects-no-delivery.yaml"])}
    env = {**venv.env(), **variables}
    template = {**TEMPLATE, **{k: v for k, v in document.items() if k != "include"}}

    def workspace(name: str) -> Path:
        workdir = tmp_path / name
        shutil.copytree(ROOT / "examples" / "smtplib", workdir / "examples" / "smtplib")
        (workdir / "expects-no-delivery.yaml").write_text(WRONG_EXPECTATION)
        return workdir

    whole_dir = workspace("whole")  # no parallel: keyword, so no CI_NODE_* variables
    whole = run_gitlab_job(template, "smtp-faults", workdir=whole_dir, env=env)
    assert whole.returncode == 1, whole.stdout + whole.stderr
    (whole_json,) = (whole_dir / REPORTS).glob("*.json")

    merge_dir = workspace("merge")
    codes = []
    total = document["smtp-faults"]["parallel"]
    for index in range(1, total + 1):
        workdir = workspace(f"shard{index}")
        done = run_gitlab_job(template, "smtp-faults", workdir=workdir,
                              env={**env, "CI_NODE_INDEX": str(index),
                                   "CI_NODE_TOTAL": str(total)})
        codes.append(done.returncode)
        junit = TEMPLATE[".smtp-faults"]["artifacts"]["reports"]["junit"]
        assert [p.name for p in workdir.glob(junit)] == [f"smtp-faults-shard-{index}-of-3.xml"]
        shutil.copytree(workdir / REPORTS, merge_dir / REPORTS, dirs_exist_ok=True)  # artifacts
    assert sorted(codes) == [0, 0, 1]

    merged = run_gitlab_job(template, "smtp-faults-merge", workdir=merge_dir,
                            env={**venv.env(), "SMTP_FAULTS_INSTALL": str(wheel)})
    assert merged.returncode == whole.returncode, merged.stdout + merged.stderr
    assert verdicts(read(merge_dir / REPORTS / "smtp-faults.json")) == verdicts(read(whole_json))
    assert junit_cases(merge_dir / REPORTS / "smtp-faults.xml") == junit_cases(
        whole_json.with_suffix(".xml"))
    for path in TEMPLATE[".smtp-faults-merge"]["artifacts"]["paths"]:
        assert [p for p in merge_dir.glob(path)], path


def test_the_template_without_an_install_says_what_to_set(tmp_path: Path) -> None:
    done = run_gitlab_job(TEMPLATE, ".smtp-faults", workdir=tmp_path, env={})
    assert done.returncode == 2
    assert "set SMTP_FAULTS_INSTALL" in done.stderr
