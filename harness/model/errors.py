"""Every problem of a scenario file, at once, in words its author can act on.

A problem reads ``file:line: path.in.document: expected ..., got ...; did you mean 'x'?``.
The messages are derived from pydantic's errors and the models' own types, never from a
table of special cases, so a new key or value is explained as soon as the model has it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from harness.errors import HarnessError
from harness.model._base import one_of, shown
from harness.model._walk import DocPath, Key, Step, describe, is_model, member_tag, members, walk


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario: where (file, line, path) and what."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(HarnessError):
    """A scenario file (or its ``extends:`` chain) is not valid.

    ``problems`` lists every problem found, in file order; ``str()`` gives one per line.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def format_path(path: Sequence[Key]) -> str:
    """``("faults", 2, "at")`` as ``faults[2].at``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``, if one is close enough to be a typo of it."""
    if not isinstance(word, str):
        return None
    options = list(choices)
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if found:
        return found[0]
    # a short word's slip ('maks' for 'max') falls below difflib's ratio: take the one
    # choice nearest by edits, if it is within half the word's length
    if len(word) < 3:
        return None
    distances = sorted((_edits(word.lower(), c.lower()), c) for c in options)
    if not distances or distances[0][0] > len(word) // 2:
        return None
    if len(distances) > 1 and distances[1][0] == distances[0][0]:
        return None  # two equally near: no guess
    return distances[0][1]


def _edits(a: str, b: str) -> int:
    """Letters to add, remove or change to make ``a`` into ``b`` (Levenshtein)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word``, else ``""``."""
    close = closest(word, choices)
    return f"; did you mean {close!r}?" if close else ""


_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
"""Errors that say only "this is the wrong kind of value", with the kind that was wanted."""

_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# -- one pydantic error, in words -------------------------------------------------------


@dataclass(frozen=True)
class _Said:
    path: DocPath
    message: str
    missing: bool = False
    suggests: str | None = None


def _say(error: ErrorDetails, step: Step) -> _Said:
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    path, tp, got = step.path, step.tp, shown(given)
    if kind == "scenario":
        at = ctx.get("at")
        where = tuple(at) if at else path + ((ctx["field"],) if "field" in ctx else ())
        hint = did_you_mean(ctx.get("value"), ctx.get("choices", ()))
        return _Said(where, error["msg"] + hint)
    if kind == "fault":
        return _Said(path, str(ctx["message"]))
    if kind == "extra_forbidden":
        allowed = _keys(step.parent)
        close = closest(path[-1], allowed)
        hint = f"; did you mean {close!r}?" if close else ""
        return _Said(
            path, f"expected {_key_list(allowed)}, got {shown(path[-1])}{hint}", suggests=close
        )
    if kind == "missing":
        return _Said(
            path, f"expected {describe(tp)}, got nothing (the key is required)", missing=True
        )
    if kind == "literal_error":
        choices: list[object] = list(get_args(tp)) if get_origin(tp) is Literal else []
        choices = choices or re.findall(r"'([^']*)'", str(ctx.get("expected")))
        expected = one_of(choices) if choices else str(ctx.get("expected"))
        hint = did_you_mean(given, [str(c) for c in choices])
        return _Said(path, f"expected {expected}, got {got}{hint}")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_problem(path, tp, given)
    if kind == "fault_kind":
        return _kind_problem(path, given)
    if kind in _BOUNDS:
        sign, name = _BOUNDS[kind]
        return _Said(path, f"expected a number {sign} {_number(ctx[name])}, got {got}")
    if kind == "too_short":
        return _Said(path, f"expected at least {ctx['min_length']}, got {got}")
    if kind in _TYPE_WORDS:
        return _Said(path, f"expected {_TYPE_WORDS[kind]}, got {got}")
    wanted = re.sub(r"^Input should be ", "", error["msg"])
    return _Said(path, f"expected {wanted[:1].lower()}{wanted[1:]}, got {got}")


def _keys(model: Any) -> list[str]:
    if not is_model(model):
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _key_list(keys: Sequence[str]) -> str:
    return "one of the keys " + ", ".join(keys) if keys else "no keys here"


def _tag_problem(path: DocPath, tp: Any, given: object) -> _Said:
    tags = [t for t in (member_tag(m) for m in members(tp)) if t]
    toxic = given.get("toxic") if isinstance(given, dict) else None
    if toxic is None:
        keys = [k for k in given if k in tags] if isinstance(given, dict) else []
        hint = f"; did you mean 'toxic: {keys[0]}'?" if keys else ""
        return _Said(path, f"expected a 'toxic' key ({', '.join(tags)}), got {shown(given)}" + hint)
    return _Said(
        (*path, "toxic"), f"expected {one_of(tags)}, got {shown(toxic)}" + did_you_mean(toxic, tags)
    )


def _kind_problem(path: DocPath, given: object) -> _Said:
    from harness.model.fault_items import ITEMS, FaultItem, kinds_in

    kinds = list(ITEMS)
    if not isinstance(given, dict):
        return _Said(
            path,
            f"expected a mapping with one fault kind key ({', '.join(kinds)}), got {shown(given)}",
        )
    found = kinds_in(given)
    if found:
        return _Said(path, f"expected one fault kind key, got {len(found)}: {', '.join(found)}")
    common = list(FaultItem.model_fields)
    strange = [str(k) for k in given if k not in common]
    hints = [did_you_mean(k, kinds + common) for k in strange]
    hint = next((h for h in hints if h), "")
    got = ", ".join(repr(k) for k in strange) if strange else "none"
    return _Said(path, f"expected one fault kind key ({', '.join(kinds)}), got {got}" + hint)


# -- all errors of one validation ---------------------------------------------------------


_SHAPE_ERRORS = {*_TYPE_WORDS, "literal_error"}


def _is_shape_error(error: ErrorDetails, step: Step) -> bool:
    """The member of a union did not even have the right kind of value."""
    return error["type"] in _SHAPE_ERRORS and len(step.path) == len(step.union_at or ())


def explain(
    error: ValidationError, root: type[BaseModel], value: Callable[[DocPath], Any]
) -> list[tuple[DocPath, str]]:
    """Every error of ``error`` as ``(document path, message)``, one per problem.

    Errors of a plain union's members are folded: the member whose errors go beyond
    "wrong kind of value" is explained, or else one line lists what each member wanted.
    """
    plain: list[tuple[ErrorDetails, Step]] = []
    unions: dict[DocPath, dict[str, list[tuple[ErrorDetails, Step]]]] = {}
    for details in error.errors():
        step = walk(root, details["loc"])
        if step.union_at is None:
            plain.append((details, step))
        else:
            members = unions.setdefault(step.union_at, {})
            members.setdefault(step.member or "", []).append((details, step))
    said = [_say(d, s) for d, s in plain]
    for at, members in unions.items():
        fitting = [
            errors
            for errors in members.values()
            if not all(_is_shape_error(d, s) for d, s in errors)
        ]
        if fitting:
            said.extend(_say(d, s) for errors in fitting for d, s in errors)
            continue
        wanted: list[str] = []
        choices: list[str] = []
        for errors in members.values():
            for d, _ in errors:
                word = _TYPE_WORDS.get(d["type"])
                if word is None:  # a literal: its values, for the did-you-mean too
                    values = re.findall(r"'([^']*)'", str((d.get("ctx") or {}).get("expected")))
                    choices += values
                    word = one_of(values)
                if word not in wanted:
                    wanted.append(word)
        given = value(at)
        said.append(
            _Said(
                at,
                f"expected {' or '.join(wanted)}, got {shown(given)}"
                + did_you_mean(given, choices),
            )
        )
    # A misspelt required key is one problem, not "unknown key" plus "missing key".
    misspelt = {(*s.path[:-1], s.suggests) for s in said if s.suggests}
    return [(s.path, s.message) for s in said if not (s.missing and s.path in misspelt)]


def problems_of(
    error: ValidationError,
    root: type[BaseModel],
    data: object,
    locate: Callable[[DocPath], tuple[str, int | None]],
) -> list[Problem]:
    """``explain`` with each problem placed in its file and line."""

    def value(path: DocPath) -> Any:
        node: Any = data
        for key in path:
            if isinstance(node, Mapping):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return None
        return node

    problems = []
    for path, message in explain(error, root, value):
        source, line = locate(path)
        problems.append(Problem(source, line, format_path(path), message))
    return problems
