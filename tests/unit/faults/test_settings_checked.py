"""A fault kind's numbers are checked against the value type its settings declare: no
kind writes the check again, and none can forget it."""

from __future__ import annotations

from typing import Any

import pytest

from harness import InvalidFaultPlan, faults
from harness.smtp.faults.shape import settings_of

GOOD = {"seconds": 1.5, "count": 0, "positive-count": 1}
BAD = {"seconds": [-1, "2", True], "count": [-1, 1.5, True], "positive-count": [0, 1.5, True]}
NUMBERS = [(kind, s.name, s.type) for kind, cls in faults.KINDS.items()
           for s in settings_of(cls) if s.type in GOOD]


def build(kind: str, **changed: Any) -> Any:
    cls = faults.KINDS[kind]
    given = {s.name: GOOD[s.type] for s in settings_of(cls) if s.required and s.type in GOOD}
    if kind == "reply":
        given["reply"] = "421 4.7.0 Busy"
    at = "body" if cls.phases == ("body",) else cls.phases[0]
    extra = {"after_bytes": 1} if at == "body" else {}
    return cls(at=at, **extra, **{**given, **changed})


def test_every_numeric_setting_is_covered() -> None:
    kinds = {kind for kind, _, _ in NUMBERS}
    assert {"delay", "greylist", "rate-limit", "size-limit", "idle-timeout"} <= kinds


@pytest.mark.parametrize(("kind", "name", "value_type"), NUMBERS)
def test_a_number_outside_its_type_is_refused_naming_the_field(
    kind: str, name: str, value_type: str
) -> None:
    assert getattr(build(kind), name) is not None  # the control: a good value builds
    for bad in BAD[value_type]:
        with pytest.raises(InvalidFaultPlan, match=rf"^{kind}: {name}={bad!r} is not allowed"):
            build(kind, **{name: bad})
