"""The CI recipes (docs/recipes/ci-*.md): their YAML parses, every harness command in it is
accepted by the harness's own argument parser, and the reports it writes are the files
the job publishes."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import _parser
from tests.recipes.conftest import RECIPES

BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def documents(page: str) -> list[Any]:
    """Every YAML block of the page: a whole workflow or job, or a list of steps."""
    found = [yaml.safe_load(body) for body in BLOCK.findall((RECIPES / page).read_text())]
    assert found, f"no YAML in {page}"
    assert all(isinstance(document, (dict, list)) for document in found)
    return found


def shell_lines(node: object) -> Iterator[str]:
    """Every string under a ``run`` (GitHub) or ``script`` (GitLab) key."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script", "before_script"):
                yield from ([value] if isinstance(value, str) else value)
            else:
                yield from shell_lines(value)
    elif isinstance(node, list):
        for item in node:
            yield from shell_lines(item)


def harness_commands(document: object) -> list[tuple[list[str], list[str]]]:
    """(harness arguments, client command) for every ``harness run|serve`` in a document."""
    commands = []
    for text in shell_lines(document):
        for line in text.replace("\\\n", " ").splitlines():
            for part in re.split(r"\s*&&\s*", line):
                argv = shlex.split(part)
                if argv and Path(argv[0]).name == "harness" and argv[1:2] in (["run"],
                                                                              ["serve"]):
                    split = argv.index("--") if "--" in argv else len(argv)
                    commands.append((argv[1:split], argv[split + 1:]))
    return commands


@pytest.mark.parametrize("page", ["ci-github-actions.md", "ci-gitlab.md"])
def test_ci_commands_parse_and_write_junit_and_html(page: str) -> None:
    commands = [c for document in documents(page) for c in harness_commands(document)]
    assert commands, f"no harness command in the YAML of {page}"
    for arguments, client in commands:
        args = _parser().parse_args(arguments)  # exits (fails the test) on a bad option
        assert args.junit and args.html, f"{page}: {arguments} publishes no JUnit/HTML"
        assert client and "{port}" in client, f"{page}: {client} is not told the port"


def test_github_job_publishes_what_it_writes() -> None:
    (workflow, *_) = documents("ci-github-actions.md")
    (job,) = workflow["jobs"].values()
    ((arguments, _),) = harness_commands(workflow)
    uploads = [step["with"] for step in job["steps"] if "upload-artifact" in step.get("uses", "")]
    junit = [step["with"]["report_paths"] for step in job["steps"]
             if "junit-report" in step.get("uses", "")]
    args = _parser().parse_args(arguments)
    assert junit == [args.junit]
    assert any(args.html.startswith(upload["path"]) for upload in uploads)
    assert all("!cancelled()" in step.get("if", "") for step in job["steps"]
               if "uses" in step and ("upload" in step["uses"] or "junit" in step["uses"]))


def test_gitlab_jobs_publish_what_they_write() -> None:
    for document in documents("ci-gitlab.md"):
        if "include" in document:  # the template's jobs: tests/ci/test_gitlab.py runs them
            continue
        (job,) = document.values()
        ((arguments, _),) = harness_commands(job)
        args = _parser().parse_args(arguments)
        assert job["artifacts"]["when"] == "always"
        assert job["artifacts"]["reports"]["junit"] == args.junit
        assert any(args.html.startswith(path) for path in job["artifacts"]["paths"])
