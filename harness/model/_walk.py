"""Following a pydantic error's location through the scenario models.

pydantic locates an error by keys, list indexes and, inside a union, the member it tried
(a class name, ``function-after[..., Name]``, or a discriminator's tag). The document path
has the keys and indexes only; the models along the way give what was allowed there.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Discriminator

from harness.model._base import one_of

Key = str | int
DocPath = tuple[Key, ...]


@dataclass(frozen=True)
class Step:
    """Where a location leads: the document path, the type there and the union it crossed."""

    path: DocPath
    tp: Any
    parent: Any
    union_at: DocPath | None = None
    member: str | None = None


def _unwrap(tp: Any) -> tuple[Any, bool]:
    """Strip ``Annotated`` and ``None``; say whether a discriminator tells members apart."""
    tagged = False
    while True:
        if get_origin(tp) is Annotated:
            tp, *meta = get_args(tp)
            tagged = tagged or any(isinstance(m, Discriminator) for m in meta)
            continue
        if get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp, tagged


def members(tp: Any) -> list[Any]:
    """The members of a union, unwrapped, without None."""
    return [_unwrap(m)[0] for m in get_args(tp) if m is not type(None)]


def member_tag(member: Any) -> str | None:
    """The tag a model goes by in a discriminated union: its kind or toxic name."""
    for attribute in ("kind", "tag"):
        value = getattr(member, attribute, None)
        if isinstance(value, str):
            return value
    return None


def _goes_by(member: Any, tag: str) -> bool:
    """Whether pydantic's location ``tag`` names this union member.

    pydantic tags a model member by its class name, or ``function-after[..., Name]``
    when the model has an after-validator; a discriminated member by its tag.
    """
    name = getattr(member, "__name__", None)
    return tag == member_tag(member) or (
        name is not None and (tag == name or tag.endswith(f" {name}]"))
    )


def is_model(tp: Any) -> bool:
    # get_origin first: on Python 3.10, isinstance(tuple[int], type) is True.
    return get_origin(tp) is None and isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_type(model: type[BaseModel], key: Key) -> Any:
    for name, field in model.model_fields.items():
        if key in (field.alias, name):
            return field.annotation
    return None


def walk(root: type[BaseModel], loc: Sequence[Key]) -> Step:
    """Follow a pydantic location through the models, dropping union tags from the path."""
    path: list[Key] = []
    tp: Any = root
    parent: Any = None
    union_at: DocPath | None = None
    member: str | None = None
    for key in loc:
        tp, tagged = _unwrap(tp)
        if get_origin(tp) in (Union, types.UnionType):
            found = [m for m in members(tp) if _goes_by(m, str(key))]
            if not tagged and union_at is None:
                union_at, member = tuple(path), str(key)
            tp = found[0] if found else None
            continue
        if key == "[key]":
            tp = None
            continue
        parent = tp
        path.append(key)
        if is_model(tp):
            tp = _field_type(tp, key)
        elif get_origin(tp) in (tuple, list):
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        else:
            tp = None
    return Step(tuple(path), _unwrap(tp)[0], parent, union_at, member)


def describe(tp: Any) -> str:
    """What a value of this type looks like, in YAML words."""
    tp = _unwrap(tp)[0]
    origin = get_origin(tp)
    if origin is Literal:
        return one_of(get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(describe(m) for m in members(tp))
    if origin in (tuple, list):
        return "a list"
    if origin is dict or is_model(tp):
        return "a mapping"
    return _PLAIN.get(tp, "a value")


_PLAIN: dict[Any, str] = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
}
