"""The built-in scenario catalogue: one YAML file per scenario, shipped in the package.

A scenario file can name one of these in ``extends:``, and ``harness run`` takes a name
where it takes a file.
"""

from __future__ import annotations

from pathlib import Path

_FOLDER = Path(__file__).parent


def builtin_names() -> list[str]:
    """The names of the built-in scenarios, sorted."""
    return sorted(path.stem for path in _FOLDER.glob("*.yaml"))


def builtin_path(name: str) -> Path:
    """The file of the built-in scenario ``name``.

    Raises :class:`~harness.scenario.ScenarioError` naming the closest built-in when
    there is none by that name.
    """
    path = _FOLDER / f"{name}.yaml"
    if "/" not in name and "\\" not in name and path.is_file():
        return path
    from harness.scenario.errors import Problem, ScenarioError, did_you_mean

    hint = did_you_mean(name, builtin_names())
    message = f"expected a built-in scenario (`harness list` names them), got {name!r}{hint}"
    raise ScenarioError([Problem("built-in scenarios", None, "", message)])
