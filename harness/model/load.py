"""Reading scenario files: YAML with the line of every key, ``extends:``, validation.

``extends:`` names a built-in scenario (``extends: greylist``) or a file relative to the
extending one (``extends: ./base.yaml``; a value with a ``/`` or ending in ``.yaml`` or
``.yml`` is a file). A scenario file may come from a pull request, so a base file is
confined: it must end in ``.yaml`` or ``.yml`` and lie, links resolved, under the folder
of the file that extends it or under a folder the user names (``--extends-dir``, or
``HARNESS_EXTENDS_DIRS``, separated like ``PATH``); a base that is not a scenario is
refused without a word of its content. The file's own keys are merged over the base's:

- mappings merge key by key, recursively (``server:``, ``expect:``, ``client.env``...);
- anything else replaces the base's value whole: scalars, and lists (``faults:``,
  ``network:``, ``relax:``) -- a list is never appended to;
- ``key: null`` removes the base's key, so its default applies again;
- ``name``, ``about`` and ``extends`` are never inherited: they describe the file itself.

A base may itself extend another; a cycle is an error. The merged document is validated
as one scenario, and each problem points at the file and line the offending value came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.model import safe_yaml
from harness.model._base import shown
from harness.model._walk import DocPath
from harness.model.builtin_scenarios import builtin_names, builtin_path
from harness.model.errors import (
    Problem,
    ScenarioError,
    did_you_mean,
    format_path,
    problems_of,
)

Model = TypeVar("Model", bound=BaseModel)
"""The model a document is validated against: ``Scenario``, passed in by its own
classmethods, so this module does not import the model it loads (no import cycle)."""

Place = tuple[str, int]
"""A file (as named in messages) and a line, from 1."""

NOT_INHERITED = ("name", "about", "extends")


@dataclass(frozen=True)
class Document:
    """Parsed YAML and where each of its paths was written."""

    data: Any
    places: Mapping[DocPath, Place]
    source: str

    def locate(self, path: DocPath) -> tuple[str, int | None]:
        """The place of ``path``, or of its nearest ancestor that was written down."""
        for end in range(len(path), -1, -1):
            place = self.places.get(path[:end])
            if place is not None:
                return place
        return self.source, None


# -- YAML with places ---------------------------------------------------------------------


def read_yaml(text: str, source: str) -> tuple[Document | None, list[Problem]]:
    """Parse ``text``; ``None`` and the syntax problem when it is not YAML.

    Duplicate keys, which YAML loaders silently resolve to the last one, are problems.
    """
    problems: list[Problem] = []
    try:
        loader = safe_yaml.loader(text)
    except yaml.MarkedYAMLError as error:
        return None, [_syntax_problem(error, source)]
    try:
        node = loader.get_single_node()
        if node is not None:
            safe_yaml.check_size(node)
        places: dict[DocPath, Place] = {(): (source, 1)}
        if node is not None:  # before construction, which flattens merge keys (<<)
            _place(loader, node, (), source, places, problems, set())
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        return None, [_syntax_problem(error, source)]
    except yaml.YAMLError as error:
        return None, [Problem(source, None, "", f"invalid YAML: {error}")]
    finally:
        loader.dispose()
    return Document(data, places, source), problems


def _syntax_problem(error: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    message = f"invalid YAML: {error.problem or error.context}"
    if error.context and error.problem and error.context_mark is not None:
        message += f" ({error.context} on line {error.context_mark.line + 1})"
    return Problem(source, mark.line + 1 if mark else None, "", message)


def _place(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: DocPath,
    source: str,
    places: dict[DocPath, Place],
    problems: list[Problem],
    open_nodes: set[int],
) -> None:
    if id(node) in open_nodes:  # a recursive alias
        return
    open_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[object, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key: Any = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # construction reports it
            line = key_node.start_mark.line + 1
            here = (*path, key)
            if key in first:
                problems.append(
                    Problem(
                        source,
                        line,
                        format_path(here),
                        f"expected each key once, got {shown(key)} again"
                        f" (first on line {first[key]})",
                    )
                )
            first.setdefault(key, line)
            places[here] = (source, line)
            _place(loader, value_node, here, source, places, problems, open_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            spot = (*path, index)
            places[spot] = (source, item.start_mark.line + 1)
            _place(loader, item, spot, source, places, problems, open_nodes)
    open_nodes.discard(id(node))


# -- extends ------------------------------------------------------------------------------


def merge(base: Document, override: Document) -> Document:
    """``override`` over ``base``, as the module docstring says."""
    places: dict[DocPath, Place] = {}
    base_data = {k: v for k, v in base.data.items() if k not in NOT_INHERITED}
    data = _merge(base_data, override.data, (), base, override, places)
    return Document(data, places, override.source)


def _merge(
    base: Any,
    over: Any,
    path: DocPath,
    below: Document,
    above: Document,
    places: dict[DocPath, Place],
) -> Any:
    if not (isinstance(base, dict) and isinstance(over, dict)):
        _copy_places(above, path, places)
        return over
    places[path] = above.places.get(path) or below.places.get(path) or (above.source, 1)
    merged: dict[Any, Any] = {}
    for key, value in base.items():
        if key not in over:
            merged[key] = value
            _copy_places(below, (*path, key), places)
    for key, value in over.items():
        if key in base and value is None:
            continue
        if key in base:
            merged[key] = _merge(base[key], value, (*path, key), below, above, places)
        else:
            merged[key] = value
            _copy_places(above, (*path, key), places)
    return merged


def _copy_places(doc: Document, prefix: DocPath, places: dict[DocPath, Place]) -> None:
    size = len(prefix)
    places.update((p, place) for p, place in doc.places.items() if p[:size] == prefix)


def _is_file_ref(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))


EXTENDS_DIRS_ENV = "HARNESS_EXTENDS_DIRS"


def extends_dirs() -> list[Path]:
    """Folders the user allows ``extends:`` to read from, besides the extending file's."""
    value = os.environ.get(EXTENDS_DIRS_ENV, "")
    return [Path(part).resolve() for part in value.split(os.pathsep) if part]


def _find_base(ref: str, base_dir: Path) -> tuple[Path, str] | str:
    """The base's file and its name in messages, or why there is none."""
    if _is_file_ref(ref):
        if not ref.endswith((".yaml", ".yml")):
            return f"expected a scenario file ending in .yaml or .yml, got {ref!r}"
        path = base_dir / ref
        roots = [base_dir.resolve(), *extends_dirs()]
        real = path.resolve()
        if not any(real.is_relative_to(root) for root in roots):
            through = (" through a link" if any(
                Path(os.path.abspath(path)).is_relative_to(root) for root in roots) else "")
            return (f"expected a file under the extending file's folder or a folder named"
                    f" with --extends-dir, got {ref!r}, which leads outside{through}")
        if path.is_file():
            return path, os.path.normpath(path)
        return f"expected an existing scenario file, got {ref!r} (no file {os.path.normpath(path)})"
    names = builtin_names()
    if ref in names:
        return builtin_path(ref), f"builtin:{ref}.yaml"
    return (
        f"expected a built-in scenario (`harness list` names them) or a file path ending in"
        f" .yaml, got {ref!r}" + did_you_mean(ref, names)
    )


def _keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _not_a_scenario(doc: Document, model: type[BaseModel]) -> Problem | None:
    """A base that is not a scenario: said without its content, which may be anything."""
    keys = set(_keys(model))
    if isinstance(doc.data, dict) and all(isinstance(k, str) and k in keys for k in doc.data):
        return None
    return Problem(doc.source, None, "", "expected a scenario file to extend, got a file that"
                   " is not one (a mapping of scenario keys); its content is not shown")


def resolve_extends(
    doc: Document, base_dir: Path, chain: tuple[str, ...] = (), *, model: type[BaseModel]
) -> tuple[Document, list[Problem]]:
    """``doc`` merged over the scenarios it extends, and the problems found on the way."""
    ref = doc.data.get("extends") if isinstance(doc.data, dict) else None
    if not isinstance(ref, str):
        return doc, []  # a wrong type is the model's to report
    source, line = doc.locate(("extends",))
    found = _find_base(ref, base_dir)
    if isinstance(found, str):
        return doc, [Problem(source, line, "extends", found)]
    path, label = found
    key = str(path.resolve())
    if key in chain:
        return doc, [
            Problem(
                source,
                line,
                "extends",
                f"expected a scenario that does not extend this one, got {ref!r} (a cycle)",
            )
        ]
    base, problems = read_file(path, label)
    if base is None:
        return doc, problems
    foreign = _not_a_scenario(base, model)
    if foreign is not None:
        return doc, [foreign]
    base, more = resolve_extends(base, path.parent, (*chain, key), model=model)
    return merge(base, doc), problems + more


# -- validation ---------------------------------------------------------------------------


def _not_a_mapping(doc: Document, model: type[BaseModel]) -> Problem:
    keys = ", ".join(_keys(model))
    got = "an empty document" if doc.data is None else shown(doc.data)
    return Problem(doc.source, 1, "", f"expected a mapping of scenario keys ({keys}), got {got}")


def validate(
    doc: Document, base_dir: Path, problems: list[Problem], chain: tuple[str, ...] = (),
    *, model: type[Model],
) -> Model:
    """Resolve ``extends`` and validate; raise every problem at once."""
    if not isinstance(doc.data, dict):
        raise ScenarioError([*problems, _not_a_mapping(doc, model)])
    doc, more = resolve_extends(doc, base_dir, chain, model=model)
    problems = problems + more
    scenario: Model | None = None
    try:
        scenario = model.model_validate(doc.data)
    except ValidationError as error:
        problems += problems_of(error, model, doc.data, doc.locate)
    if problems or scenario is None:
        raise ScenarioError(_in_file_order(problems, doc.source))
    return scenario


def _in_file_order(problems: list[Problem], main: str) -> list[Problem]:
    rank = {main: 0}
    for problem in problems:
        rank.setdefault(problem.source, len(rank))
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (rank[p.source], p.line or 0))


def read_file(path: Path, label: str) -> tuple[Document | None, list[Problem]]:
    try:
        text = safe_yaml.read_text(path)
    except (OSError, ValueError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        return None, [Problem(label, None, "", f"cannot read the file: {why}")]
    return read_yaml(text, label)


def load_path(path: Path, label: str | None = None, *, model: type[Model]) -> Model:
    """A scenario from a file; ``label`` names it in messages (default: the path)."""
    doc, problems = read_file(path, label or str(path))
    if doc is None:
        raise ScenarioError(problems)
    return validate(doc, path.parent, problems, (str(path.resolve()),), model=model)


def load_text(text: str, *, source: str, base_dir: Path, model: type[Model]) -> Model:
    doc, problems = read_yaml(text, source)
    if doc is None:
        raise ScenarioError(problems)
    return validate(doc, base_dir, problems, model=model)


def load_data(
    data: Mapping[str, object], *, source: str, base_dir: Path, model: type[Model]
) -> Model:
    plain = dict(data) if isinstance(data, Mapping) else data
    return validate(Document(plain, {}, source), base_dir, [], model=model)


def load_ref(ref: str | Path, *, model: type[Model]) -> Model:
    """A scenario by file path, or by built-in name (``"greylist"``)."""
    if isinstance(ref, Path) or _is_file_ref(ref) or Path(ref).is_file():
        return load_path(Path(ref), model=model)
    return load_path(builtin_path(ref), f"builtin:{ref}.yaml", model=model)
