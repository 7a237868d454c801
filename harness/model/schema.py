"""The JSON Schema of scenario files, generated from the models, and bulk validation."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.model.errors import ScenarioError
from harness.model.scenario import Scenario

SCHEMA_ID = "https://smtp-fault-harness.invalid/scenario.schema.json"
"""The schema's ``$id``; a name, not a place to download it from."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) a scenario file conforms to, for editors and CI.

    It accepts what the loader accepts, except what only building the faults can tell
    (a phase a fault kind cannot fire at, a malformed reply) and ``extends`` resolution.
    """
    schema = _plain_descriptions(Scenario.model_json_schema(by_alias=True, mode="validation"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "smtp-fault-harness scenario",
    }


def _plain_descriptions(node: Any) -> Any:
    """Docstrings mark code as ``x``; editors show Markdown, where that is `x`."""
    if isinstance(node, dict):
        return {
            k: v.replace("``", "`")
            if k == "description" and isinstance(v, str)
            else _plain_descriptions(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_plain_descriptions(v) for v in node]
    return node


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, with each folder replaced by its ``*.yaml`` and ``*.yml`` files."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def validate_paths(paths: Iterable[str | Path]) -> list[tuple[Path, ScenarioError | None]]:
    """Load each scenario file (folders: every YAML file in them); ``None`` means valid."""
    results: list[tuple[Path, ScenarioError | None]] = []
    for path in scenario_files(paths):
        try:
            Scenario.from_path(path)
        except ScenarioError as error:
            results.append((path, error))
        else:
            results.append((path, None))
    return results
