"""Any fault of any registered kind and any toxic, with any valid settings, drawn from
the kinds' own declarations (:mod:`harness.smtp.faults.shape`) and the toxic types'
fields: a new kind or toxic is drawn with no change here.

These are for properties of the harness itself (a fault written to a scenario file and
read back is the same fault); :func:`harness.strategies.faults` draws the faults that
make sense against a client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from harness import faults
from harness._strategies._checks import check_subset
from harness._strategies.replies import replies
from harness.chaos.errors import InvalidToxic
from harness.chaos.toxic import Toxic
from harness.chaos.toxics import TYPES
from harness.errors import InvalidFaultPlan
from harness.faults import Fault
from harness.smtp.faults.shape import Setting, settings_of

_WORD = st.from_regex(r"[A-Z][A-Za-z0-9 =.-]{0,15}", fullmatch=True)


def setting_values(setting: Setting) -> SearchStrategy[Any]:
    """Valid values of one setting, as the fault's keyword argument takes them."""
    if setting.type == "reply":
        codes = [int(code) for code in setting.choices]
        return replies(codes=st.sampled_from(codes)) if codes else replies()
    simple: dict[str, SearchStrategy[Any]] = {
        "seconds": st.integers(0, 3600) | st.floats(0, 3600, allow_nan=False),
        "count": st.integers(0, 2**31),
        "positive-count": st.integers(1, 2**31),
        "flag": st.booleans(),
        "lines": st.lists(_WORD, max_size=3).map(tuple),
        "text": _WORD,
        "latin1": st.binary(min_size=1, max_size=32),
        "choice": st.sampled_from(setting.choices or ("",)),
    }
    return simple[setting.type]


def _attempts() -> SearchStrategy[Any]:
    first = st.integers(1, 9)
    return st.one_of(
        st.just("all"), first, st.lists(first, min_size=1, max_size=3, unique=True),
        st.tuples(first, st.integers(0, 5)).map(lambda p: f"{p[0]}-{p[0] + p[1]}"),
        first.map(lambda n: f"{n}+"),
    )


@st.composite
def any_faults(draw: st.DrawFn, kinds: Iterable[str] | None = None) -> Fault:
    """A fault of one of ``kinds`` (default: every registered kind), with every setting
    and every envelope key (``at``, ``attempts``, ``match``, ``probability``,
    ``after_bytes``) drawn from what the kind allows."""
    chosen = check_subset("kinds", kinds, tuple(faults.KINDS), tuple(faults.KINDS))
    kind = faults.KINDS[draw(st.sampled_from(chosen))]
    at = draw(st.sampled_from(kind.phases))
    given: dict[str, Any] = {
        "at": at,
        "attempts": draw(_attempts()),
        "match": draw(st.none() | _WORD),
        "probability": draw(st.just(1.0) | st.floats(0, 1, allow_nan=False)),
    }
    if at == "body":
        given["after_bytes"] = draw(st.integers(0, 2**20))
    for setting in settings_of(kind):
        if setting.required or draw(st.booleans()):
            given[setting.name] = draw(setting_values(setting))
    try:
        return kind(**given)
    except InvalidFaultPlan:  # settings that exclude each other (handshake-failure's)
        reject()


@st.composite
def any_toxics(draw: st.DrawFn, types: Iterable[str] | None = None) -> Toxic:
    """A toxic of one of ``types`` (default: every toxic type a scenario file can name),
    every attribute and wrapper key drawn, values as large as Toxiproxy takes."""
    named = tuple(name for name in TYPES if name != "noop")
    kind = TYPES[draw(st.sampled_from(check_subset("types", types, named, named)))]
    attributes = {
        f.name: draw(st.integers(0, 2**31))
        for f in fields(kind)  # type: ignore[arg-type]
        if f.name in kind.required or draw(st.booleans())
    }
    try:
        return Toxic(
            type=kind.type, attributes=attributes,
            name=draw(st.just("") | _WORD.map(lambda w: w.replace(" ", "-"))),
            stream=draw(st.sampled_from(["downstream", "upstream"])),
            toxicity=draw(st.just(1.0) | st.floats(0, 1, allow_nan=False)),
            attempts=draw(_attempts()),
        )
    except InvalidToxic:  # attributes that cannot work together (slicer's sizes)
        reject()
