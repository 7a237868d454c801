"""HTML built as elements, so that escaping cannot be forgotten.

Every tag of the report is made by :func:`el`: its text children and attribute values are
escaped, always; only :class:`Markup` (what :func:`el` itself returns, or a file of the
package) goes in as it is. Text from the client or the wire has no way in without
passing through the escaping.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Union

Child = Union["Markup", str, int, float, None, Iterable["Child"]]
Attribute = str | int | float | bool | None


class Markup(str):
    """Text that is already HTML: made by :func:`el`, or read from the package's files."""

    __slots__ = ()


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def render(child: Child) -> str:
    """A child as HTML: markup as it is, text escaped, numbers written, nested lists in
    order, ``None`` as nothing."""
    if child is None:
        return ""
    if isinstance(child, Markup):
        return str(child)
    if isinstance(child, str):
        return escape(child)
    if isinstance(child, bool):
        raise TypeError("a bool is not content")
    if isinstance(child, float):
        return _number(child)
    if isinstance(child, int):
        return str(child)
    return "".join(render(item) for item in child)


def el(tag: str, *children: Child, **attributes: Attribute) -> Markup:
    """``<tag attributes>children</tag>``. Attribute names: a trailing ``_`` is dropped
    (``class_``), other ``_`` become ``-`` (``text_anchor``); ``True`` writes the bare name,
    ``False`` and ``None`` leave the attribute out; floats are written to 0.1."""
    parts = [tag]
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(name)
        else:
            text = _number(value) if isinstance(value, float) else str(value)
            parts.append(f'{name}="{escape(text)}"')
    opening = "<" + " ".join(parts) + ">"
    if tag in VOID:
        return Markup(opening)
    return Markup(f"{opening}{render(children)}</{tag}>")


def fragment(*children: Child) -> Markup:
    """Children side by side, with no element around them."""
    return Markup(render(children))


def _number(value: float) -> str:
    return f"{value:.1f}"


VOID = frozenset({"br", "hr", "img", "input", "link", "meta"})
"""HTML elements written without a closing tag (SVG's are closed like any other)."""
