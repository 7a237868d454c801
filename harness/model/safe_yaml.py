"""YAML as untrusted input: a scenario file from a pull request cannot exhaust the harness.

PyYAML's safe loader already refuses to build objects, but not to grow: aliases expand
("billion laughs": 350 bytes became 11 GB), nesting recurses (RecursionError), a
5,000-digit integer is refused by ``int`` with a traceback, a control character stops
the reader with one. This loader keeps PyYAML's grammar and adds limits, each checked
on the composed node graph *before* any data is built or walked:

- the file: at most :data:`MAX_BYTES`, a regular file (not a FIFO or a device);
- nesting: at most :data:`MAX_DEPTH` levels;
- size: at most :data:`MAX_NODES` values, counted as they are read and again with
  every alias expanded, and :data:`MAX_ITEMS` in one list or mapping;
- integers: at most :data:`MAX_DIGITS` digits.

Numbers are read as YAML 1.2 reads them: ``1e9`` and ``1E-3`` are numbers, where YAML
1.1 (PyYAML's default) wants a dot (``1.0e9``) and reads ``1e9`` as a string.

The writing side, :func:`dump`, is here too, so that what it writes this loader reads back
equal: PyYAML writes a string holding a YAML line break (NEL, U+2028, U+2029) raw inside
quotes, and a reader folds it (a handshake's ``\x85`` byte came back a space).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000
MAX_ITEMS = 2_000
MAX_DIGITS = 30


class LimitExceeded(yaml.MarkedYAMLError):
    """A limit of this module was crossed, at ``problem_mark``."""


class _Composer(yaml.SafeLoader):
    """PyYAML's safe loader, with the limits checked as nodes are composed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise LimitExceeded(None, None, f"expected at most {MAX_NODES} values, got more",
                                self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise LimitExceeded(
                    None, None, f"expected at most {MAX_DEPTH} levels of nesting, got more",
                    self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and len(
                node.value) > MAX_ITEMS:
            raise LimitExceeded(
                None, None,
                f"expected at most {MAX_ITEMS} items in one list or mapping,"
                f" got {len(node.value)}", node.start_mark)
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_DIGITS:
            raise LimitExceeded(
                None, None,
                f"expected a number of at most {MAX_DIGITS} digits, got {digits} digits",
                node.start_mark)
        return super().construct_yaml_int(node)


_Composer.add_constructor("tag:yaml.org,2002:int", _Composer.construct_yaml_int)
# YAML 1.2's floats: an exponent without a dot (``1e9``) is a number too.
_Composer.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def loader(text: str) -> yaml.SafeLoader:
    """A safe loader for ``text`` that enforces the limits; raises ``yaml.YAMLError``
    (a ``MarkedYAMLError`` with a place where there is one) for what it refuses."""
    try:
        return _Composer(text)
    except yaml.reader.ReaderError as error:
        raise _control_character(text, error) from None


def check_size(node: yaml.Node) -> None:
    """Refuse a document whose aliases expand to more than :data:`MAX_NODES` values or
    :data:`MAX_DEPTH` levels, without expanding anything: each node is measured once
    (its count and height kept), so this is linear in the size of the file. A node that
    contains itself would expand without end."""
    measured: dict[int, tuple[int, int]] = {}  # id -> (values, levels) below and with it
    open_nodes: set[int] = set()

    def measure(current: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(current)
        known = measured.get(key)
        if known is None:
            if key in open_nodes:
                raise LimitExceeded(None, None, "expected no alias inside its own anchor"
                                    " (it would expand without end)", current.start_mark)
            if depth > MAX_DEPTH:
                raise _too_deep(current)
            count, height = 1, 1
            if isinstance(current, (yaml.SequenceNode, yaml.MappingNode)):
                open_nodes.add(key)
                children = (current.value if isinstance(current, yaml.SequenceNode)
                            else [n for pair in current.value for n in pair])
                for child in children:
                    below, levels = measure(child, depth + 1)
                    count, height = count + below, max(height, levels + 1)
                    if count > MAX_NODES:
                        raise LimitExceeded(
                            None, None,
                            f"expected at most {MAX_NODES} values with every alias"
                            " expanded, got more (aliases that multiply, as in a"
                            " 'billion laughs')", current.start_mark)
                open_nodes.discard(key)
            known = measured[key] = (count, height)
        if depth + known[1] - 1 > MAX_DEPTH:
            raise _too_deep(current)
        return known

    measure(node, 1)


def _too_deep(node: yaml.Node) -> LimitExceeded:
    return LimitExceeded(None, None, f"expected at most {MAX_DEPTH} levels of nesting"
                         " (aliases included), got more", node.start_mark)


def read_text(path: Path) -> str:
    """The text of a scenario file, refusing what is not a regular file of at most
    :data:`MAX_BYTES` UTF-8 bytes (``OSError`` or ``ValueError`` with the reason).
    Opening never blocks: a FIFO is opened non-blocking and refused."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"not a regular file ({_kind(mode)})")
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 1024} KiB, the limit for a scenario file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _control_character(text: str, error: yaml.reader.ReaderError) -> yaml.MarkedYAMLError:
    position = error.position
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    mark = yaml.Mark("", position, line, column, "", 0)
    given = error.character
    code = given if isinstance(given, int) else ord(str(given)[:1] or "?")
    return yaml.MarkedYAMLError(
        None, None,
        f"expected printable text, got the control character #x{code:02x}; write it as"
        f' an escape inside double quotes ("\\x{code:02x}") if it is meant',
        mark)



_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper; a string holding a YAML line break goes double-quoted,
    where the break is written as an escape."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if any(c in value for c in _LINE_BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    """``data`` as a scenario file, keys in their order, that reads back equal."""
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    return text
