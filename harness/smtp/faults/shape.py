"""How a fault kind is written in a scenario file, declared once, by the kind itself.

A fault kind is one module: a :class:`~harness.smtp.faults.base.Fault` subclass whose
settings are dataclass fields made with :func:`setting` (value type, docs line, unit),
and whose class attributes say the rest: ``kind`` (its YAML key), ``phases``, ``rfc``
(the reference behind it), ``beside`` (settings written next to the kind key rather than
under it) and ``shorthand``. Defining the class registers it. The scenario loader, the
JSON Schema, the YAML writer, the reference pages, the kind lists in error messages and
the Hypothesis strategies all read :data:`KINDS` and :func:`settings_of`.

The kind key's value, for a kind with these settings under it:

- none: ``true`` (``close: true``);
- one: its value, or ``true`` for its default (``delay: 2.5``, ``inject-after-starttls: true``);
- several: a mapping of them (``rate-limit: {messages: 2, window_s: 60}``), or the
  ``shorthand`` setting's value alone (``greylist: 2.0``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from harness.replies import SMTPReply
from harness.smtp.faults.base import SETTING

if TYPE_CHECKING:
    from harness.smtp.faults.base import Fault

ValueType = Literal[
    "seconds", "count", "positive-count", "flag", "reply", "lines", "text", "latin1", "choice"
]
"""What a setting holds, in the scenario file's words:

- ``seconds``: a number >= 0; ``count`` / ``positive-count``: a whole number >= 0 / >= 1;
- ``flag``: true or false; ``text``: a string; ``choice``: one of ``choices``;
- ``reply``: an SMTP reply, one line (``"421 4.7.0 Try again later"``) or a list of lines
  (``choices``, when given, are the reply codes allowed);
- ``lines``: a list of strings; ``latin1``: bytes, written as text one byte a character.
"""

@dataclass(frozen=True)
class Setting:
    """One setting of a fault kind, as its module declared it."""

    name: str
    type: ValueType
    doc: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    required: bool = True
    default: Any = None

    def dump(self, value: Any) -> Any:
        """The value as a scenario file writes it (YAML and JSON types only)."""
        if self.type == "reply":
            lines = SMTPReply.of(value).wire_lines()
            return lines[0] if len(lines) == 1 else lines
        if self.type == "lines":
            return list(value)
        if self.type == "latin1":
            return bytes(value).decode("latin-1")
        return value

    def load(self, value: Any) -> Any:
        """The fault's keyword argument for a value read from a scenario file."""
        if self.type == "latin1" and isinstance(value, str):
            return value.encode("latin-1")
        if self.type == "lines":
            return tuple(value)
        return value

    def is_default(self, value: Any) -> bool:
        return not self.required and self.dump(value) == self.dump(self.default)


def setting(type: ValueType, doc: str, *, default: Any = MISSING, unit: str = "",
            choices: Sequence[str] = ()) -> Any:
    """A dataclass field that is a setting of its fault kind (see the module docs)."""
    meta = {SETTING: (type, doc, unit, tuple(choices))}
    if default is MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def settings_of(cls: type[Fault]) -> tuple[Setting, ...]:
    """The settings of a fault kind, in the order its class declares them."""
    found = []
    for f in fields(cls):
        if SETTING in f.metadata:
            type_, doc, unit, choices = f.metadata[SETTING]
            required = f.default is MISSING
            found.append(Setting(f.name, type_, doc, unit, choices, required,
                                 None if required else f.default))
    return tuple(found)


def under_key(cls: type[Fault]) -> tuple[Setting, ...]:
    """The settings written under the kind key (all but those ``beside`` it)."""
    return tuple(s for s in settings_of(cls) if s.name not in cls.beside)


def beside_key(cls: type[Fault]) -> tuple[Setting, ...]:
    """The settings written next to the kind key, as keys of the item itself."""
    return tuple(s for s in settings_of(cls) if s.name in cls.beside)


def kind_value(fault: Fault) -> Any:
    """The value of a fault's kind key in its scenario-file item."""
    inner = under_key(type(fault))
    if not inner:
        return True
    if len(inner) == 1:
        (only,) = inner
        value = getattr(fault, only.name)
        return True if only.is_default(value) else only.dump(value)
    shorthand = type(fault).shorthand
    rest = [s for s in inner if s.name != shorthand]
    if shorthand is not None and all(s.is_default(getattr(fault, s.name)) for s in rest):
        short = next(s for s in inner if s.name == shorthand)
        return short.dump(getattr(fault, shorthand))
    return {s.name: s.dump(getattr(fault, s.name)) for s in inner
            if not s.is_default(getattr(fault, s.name))}


def kind_arguments(cls: type[Fault], value: Any, beside: Mapping[str, Any]) -> dict[str, Any]:
    """The fault's keyword arguments for its kind key's ``value`` and the ``beside`` keys
    of its item (both already validated against the kind's settings)."""
    inner = under_key(cls)
    given: dict[str, Any] = {}
    if len(inner) == 1 and value is not True:
        given[inner[0].name] = value
    elif len(inner) > 1 and isinstance(value, Mapping):
        given.update(value)
    elif len(inner) > 1 and value is not True and cls.shorthand is not None:
        given[cls.shorthand] = value
    given.update(beside)
    by_name = {s.name: s for s in settings_of(cls)}
    return {name: by_name[name].load(v) for name, v in given.items() if v is not None}
