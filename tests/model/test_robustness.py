"""Whatever a file holds, loading it returns a scenario or raises ScenarioError."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.model import Scenario, ScenarioError
from harness.model.fault_items import ITEMS
from harness.model.network import TOXICS

WORDS = [
    "name", "about", "server", "faults", "network", "client", "expect", "tls", "at",
    "attempts", "reply", "toxic", "latency", "certificate", "auth", "extensions", "command",
    "backoff", "relax", "delivered", "seconds", "after_bytes", "probability", "for_s",
    "initial_s", "min", "max", "banner", "body", "rcpt", "all", "3+", "1-2", "valid",
    *ITEMS, *TOXICS,
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 70000), st.floats(-2, 5, allow_nan=False),
    st.sampled_from(WORDS), st.text(max_size=5),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(WORDS) | st.integers(0, 3), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    section=st.sampled_from(["server", "faults", "network", "client", "expect", "seed"]),
    value=values,
)
def test_any_section_value_loads_or_explains(section: str, value: Any) -> None:
    try:
        Scenario.from_dict({"name": "fuzz", section: value})
    except ScenarioError as error:
        assert error.problems
        assert all(problem.message for problem in error.problems)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(ITEMS)), item=st.dictionaries(st.sampled_from(WORDS), values,
                                                                  max_size=4), value=values)
def test_any_fault_item_loads_or_explains(kind: str, item: dict[str, Any], value: Any) -> None:
    try:
        Scenario.from_dict({"name": "fuzz", "faults": [{**item, kind: value}]})
    except ScenarioError as error:
        assert error.problems


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from([*"ab:- \n\t[]{},'\"&*!|>#%@`?<", *WORDS]), max_size=30).map(
        "".join
    )
)
def test_any_text_loads_or_explains(text: str) -> None:
    try:
        Scenario.from_str(text)
    except ScenarioError as error:
        assert error.problems
