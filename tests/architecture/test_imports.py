"""Imports point one way: no module cycle in ``harness/``, and every import goes down the
layers that ``docs/architecture.md`` names.

Every import statement counts, wherever it stands: at the top, inside a function (a lazy
import) or under ``if TYPE_CHECKING:``. The layers are read from the page's table, so the
page and the rule cannot part: a module that is in no layer, or an import that climbs,
fails here with the file and line to look at.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "harness"
PAGE = ROOT / "docs" / "architecture.md"
APART = "apart"
TOGETHER = "may import each other"


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int

    def __str__(self) -> str:
        path = module_paths()[self.source].relative_to(ROOT)
        return f"{path}:{self.line} imports {self.target}"


@functools.cache
def module_paths() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name)."""
    paths = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        paths[".".join(parts)] = path
    return paths


def _resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module that ``name`` lives in: itself, or the closest enclosing module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


@functools.cache
def imports() -> tuple[Import, ...]:
    """Every import of a harness module by a harness module, lazy ones included.

    ``from P import x`` names the submodule ``P.x`` when there is one, else ``P`` itself;
    importing a submodule runs its package's ``__init__`` first, but that is the package
    importing its own parts, not a dependency, so it is not counted as one.
    """
    modules = module_paths()
    return tuple(edge for name, path in modules.items()
                 for edge in imports_in(name, path.read_text(encoding="utf-8"), modules))


def imports_in(name: str, source: str, modules: Mapping[str, Path]) -> list[Import]:
    """The imports of harness modules in one module's ``source``, wherever they stand."""
    package = name if modules[name].name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[str | None] = []
        if isinstance(node, ast.Import):
            targets = [_resolve(alias.name, modules) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                else _resolve(base, modules)
                for alias in node.names
            ]
        else:
            continue
        found += [Import(name, target, node.lineno) for target in targets
                  if target is not None and target != name]
    return found


def cycles(edges: Sequence[Import]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    graph: dict[str, set[str]] = {name: set() for name in module_paths()}
    for edge in edges:
        graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


@dataclass(frozen=True)
class Layer:
    name: str
    units: tuple[str, ...]
    apart: bool


def layers() -> list[Layer]:
    """The layers of the page's table, top first."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if not row.startswith("|") or len(cells) != 3 or set(cells[0]) <= set("-: "):
            continue
        if cells[2] not in (APART, TOGETHER):
            continue  # the header row
        found.append(Layer(cells[0], tuple(re.findall(r"`([\w.]+?)/?`", cells[1])),
                           cells[2] == APART))
    assert found, f"{PAGE.name} has no layer table under '## Layers'"
    return found


def unit(module: str) -> str:
    """The part of the package a module belongs to: ``harness/<unit>`` (a module or a
    folder); the package's own ``__init__`` is the unit ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of() -> dict[str, int]:
    """Each unit's layer, counted from the bottom."""
    table = layers()
    return {name: len(table) - n for n, layer in enumerate(table) for name in layer.units}


def test_no_module_imports_itself_round_in_a_cycle() -> None:
    edges = imports()
    found = cycles(edges)
    lines = []
    for group in found:
        members = set(group)
        lines.append(" <-> ".join(group))
        lines += [f"    {edge}" for edge in edges
                  if edge.source in members and edge.target in members]
    assert found == [], "import cycles in harness/:\n" + "\n".join(lines)


def test_every_part_of_the_package_stands_in_exactly_one_layer() -> None:
    listed = [name for layer in layers() for name in layer.units]
    twice = sorted({name for name in listed if listed.count(name) > 1})
    units = {unit(module) for module in module_paths()}
    missing = sorted(units - set(listed))
    gone = sorted(set(listed) - units)
    assert (missing, twice, gone) == ([], [], []), (
        f"the layer table of {PAGE.relative_to(ROOT)} must list every harness/ module and"
        f" folder once: in no layer {missing}, in two {twice}, no longer in harness/ {gone}"
    )


def test_imports_point_down_the_layers() -> None:
    table = layers()
    level = layer_of()
    apart = {name for layer in table if layer.apart for name in layer.units}
    names = {len(table) - n: layer.name for n, layer in enumerate(table)}
    wrong = []
    for edge in imports():
        source, target = unit(edge.source), unit(edge.target)
        if source == target or source not in level or target not in level:
            continue
        if level[target] > level[source]:
            wrong.append(f"{edge}: up from '{names[level[source]]}' to"
                         f" '{names[level[target]]}'")
        elif level[target] == level[source] and source in apart:
            wrong.append(f"{edge}: across the layer '{names[level[source]]}',"
                         " whose parts stand apart")
    assert wrong == [], (
        f"imports against the layers of {PAGE.relative_to(ROOT)}:\n" + "\n".join(wrong)
    )


def test_the_catalogue_is_data() -> None:
    """``scenarios/`` holds scenario files only: nothing there imports or is imported."""
    folder = ROOT / "scenarios"
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert files, "no built-in scenarios found"
    assert [path.name for path in files if path.suffix != ".yaml"] == []


def test_the_fault_kind_shown_on_the_page_is_the_real_module() -> None:
    """The page shows one fault kind's whole module: it is the file as it stands."""
    text = PAGE.read_text(encoding="utf-8")
    shown = re.search(r"`(harness/smtp/faults/\w+\.py)`[^`]*?```python\n(.*?)```", text,
                      re.DOTALL)
    assert shown, f"{PAGE.name} shows no fault kind's module"
    assert shown.group(2) == (ROOT / shown.group(1)).read_text(encoding="utf-8")


def test_a_fault_kind_or_toxic_is_one_module_that_imports_no_other() -> None:
    """A kind's module leans only on its package's shared modules, so adding or removing
    one kind touches no other."""
    from harness import faults
    from harness.chaos.toxics import TYPES

    kinds = {cls.__module__ for cls in [*faults.KINDS.values(), *TYPES.values()]}
    assert "harness.smtp.faults.stop_reading" in kinds and "harness.chaos.toxics.latency" in kinds
    wrong = [str(edge) for edge in imports() if edge.source in kinds and edge.target in kinds]
    assert wrong == []


def test_harness_faults_names_every_fault_kind() -> None:
    """``harness.faults`` is where Python code finds the kinds, typed: none may be missing."""
    from harness import faults

    missing = [cls.__name__ for cls in faults.KINDS.values()
               if getattr(faults, cls.__name__, None) is not cls
               or cls.__name__ not in faults.__all__]
    assert missing == [], f"add {missing} to harness/faults.py (import and __all__)"


def test_the_page_lists_the_public_api() -> None:
    import harness

    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## The public API\n", 1)[1].split("\n## ", 1)[0]
    table = section[section.index("| for |"):]
    assert sorted(re.findall(r"`(\w+)`", table)) == sorted(harness.__all__)


# The checks above must be able to fail: each is shown failing on a made-up graph or page.

def test_a_cycle_is_found_with_its_members() -> None:
    edges = [Import("harness.run", "harness.report", 1), Import("harness.report", "harness.run", 2),
             Import("harness.cli", "harness.run", 3)]
    assert cycles(edges) == [["harness.report", "harness.run"]]


def test_lazy_relative_and_type_checking_imports_are_counted() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from harness.engine import Engine\n"
        "def later():\n    import harness.smtp.server\n"
        "    from . import json_report\n    from ..verdicts import checks, Verdict\n"
    )
    found = imports_in("harness.report.console", source, module_paths())
    assert [(edge.target, edge.line) for edge in found] == [
        ("harness.engine", 3), ("harness.smtp.server", 5), ("harness.report.json_report", 6),
        ("harness.verdicts.checks", 7), ("harness.verdicts", 7)]


def test_the_layers_the_design_states_are_on_the_page() -> None:
    """Verdicts and the timeline below the engine; chaos and smtp apart; reports apart
    from the run; the bundled client and the process reaper import nothing of ours."""
    table = layers()
    level = layer_of()
    apart = {name for layer in table if layer.apart for name in layer.units}
    assert level["timeline"] < level["verdicts"] < level["run"]
    assert level["chaos"] == level["smtp"] and "chaos" in apart
    assert level["report"] <= level["run"] and "report" in apart
    assert level["examples"] == level["_reaper"] == 1
