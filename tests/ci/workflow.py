"""Run the shell steps of a GitHub composite action or of GitLab CI jobs on this machine,
as the CI runner would: the same scripts, shells and environment variables.

Only what the project's files use is supported, and anything else is an error, so that a
file cannot use a feature this runner would silently get wrong: ``${{ inputs.X }}``,
``${{ github.action_path }}``, ``${{ steps.ID.outputs.X }}`` and ``${{ matrix.X }}``
expressions; ``uses:`` steps are not run (the tests check them on their own).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
#: The command GitHub runs a ``shell: bash`` step with.
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


def expand(text: str, context: Mapping[str, str]) -> str:
    """``text`` with every ``${{ name }}`` replaced from ``context`` (a missing name fails)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in context:
            raise KeyError(f"expression {match.group(0)!r} not supported or not defined here")
        return context[name]

    return EXPRESSION.sub(value, text)


@dataclass
class StepRun:
    """What running the steps did: each ``run`` step's exit code and the outputs written."""

    codes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(code != 0 for code in self.codes.values())


def run_composite(action: Mapping[str, Any], inputs: Mapping[str, str], *, action_path: Path,
                  workdir: Path, env: Mapping[str, str]) -> StepRun:
    """Run the composite ``action``'s ``run`` steps in ``workdir`` with ``inputs`` (the
    action's defaults for the others); stop at the first step that fails, as GitHub does."""
    unknown = set(inputs) - set(action["inputs"])
    assert not unknown, f"inputs the action does not declare: {unknown}"
    context = {f"inputs.{name}": str(inputs.get(name, spec.get("default", "")))
               for name, spec in action["inputs"].items()}
    context["github.action_path"] = str(action_path)
    result = StepRun()
    for index, step in enumerate(action["runs"]["steps"]):
        if "run" not in step:
            continue
        step_id = step.get("id", f"step{index}")
        assert step.get("shell") == "bash", f"step {step_id}: a composite run step needs a shell"
        outputs = workdir / f".github-output-{step_id}"
        outputs.write_text("")
        step_env = {**env, "GITHUB_OUTPUT": str(outputs), "GITHUB_ACTION_PATH": str(action_path),
                    **{k: expand(str(v), context) for k, v in step.get("env", {}).items()}}
        script = workdir / f".github-step-{step_id}.sh"
        script.write_text(expand(step["run"], context))
        done = subprocess.run([*GITHUB_BASH, str(script)], cwd=workdir, env=step_env,
                              capture_output=True, text=True, timeout=600, check=False)
        result.codes[step_id] = done.returncode
        result.logs.append(f"--- {step_id} ({done.returncode})\n{done.stdout}{done.stderr}")
        written = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if line)
        result.outputs[step_id] = written
        context.update({f"steps.{step_id}.outputs.{k}": v for k, v in written.items()})
        if done.returncode != 0:
            break
    return result


def run_gitlab_job(template: Mapping[str, Any], job: str, *, workdir: Path,
                   env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a GitLab job's ``before_script`` and ``script`` (through ``extends``) in one
    bash session, with the template's ``variables`` under ``env``, as a runner does."""
    lines = [*_inherited(template, job, "before_script"), *_inherited(template, job, "script")]
    script = workdir / f".gitlab-{job.strip('.')}.sh"
    script.write_text("set -eo pipefail\n" + "\n".join(lines) + "\n")
    variables = {k: str(v) for k, v in template.get("variables", {}).items()}
    return subprocess.run(["bash", str(script)], cwd=workdir,
                          env={**os.environ, **variables, **env}, capture_output=True,
                          text=True, timeout=600, check=False)


def _inherited(template: Mapping[str, Any], job: str, key: str) -> list[str]:
    spec = template[job]
    if key in spec:
        return list(spec[key])
    parent = spec.get("extends")
    return _inherited(template, parent, key) if parent else []
