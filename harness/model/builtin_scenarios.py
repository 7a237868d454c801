"""The built-in scenario catalogue: the YAML files of the project's top-level ``scenarios/``.

A scenario file can name one of these in ``extends:``, and ``harness run`` takes a name
where it takes a file. The folder holds data only. A built wheel carries it inside the
package as ``harness/_builtin_scenarios/`` (``pyproject.toml`` maps it there); a checkout,
and an editable install of one, read the top-level folder itself.
"""

from __future__ import annotations

from pathlib import Path

from harness.model.errors import Problem, ScenarioError, did_you_mean

_PACKAGED = Path(__file__).parent.parent / "_builtin_scenarios"
_CHECKOUT = Path(__file__).resolve().parents[2] / "scenarios"


def builtin_folder() -> Path:
    """The folder of the built-in scenarios: the wheel's copy, else the checkout's."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def builtin_names() -> list[str]:
    """The names of the built-in scenarios, sorted."""
    return sorted(path.stem for path in builtin_folder().glob("*.yaml"))


def builtin_path(name: str) -> Path:
    """The file of the built-in scenario ``name``.

    Raises :class:`~harness.model.ScenarioError` naming the closest built-in when
    there is none by that name.
    """
    path = builtin_folder() / f"{name}.yaml"
    if "/" not in name and "\\" not in name and path.is_file():
        return path
    hint = did_you_mean(name, builtin_names())
    message = f"expected a built-in scenario (`harness list` names them), got {name!r}{hint}"
    raise ScenarioError([Problem("built-in scenarios", None, "", message)])
