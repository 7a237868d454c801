"""Validation messages that name what was wrong: the rough edges a new user met."""

from __future__ import annotations

import pytest

from harness.model import Scenario, ScenarioError


def problem(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_str(text, source="s.yaml")
    (line,) = str(caught.value).splitlines()
    return line


@pytest.mark.parametrize("section", [
    "faults:\n  - {at: banner, close: true, attempts: [1, \"two\"]}",
    "network:\n  - {toxic: latency, latency: 5, attempts: [1, \"two\"]}",
])
def test_a_list_of_attempts_names_the_item_that_is_not_a_number(section: str) -> None:
    said = problem(f"name: x\n{section}\n")
    assert said.endswith(
        "attempts: expected a list of attempt numbers from 1 ([1, 2]), got 'two' as item 2"
        " of the list")
    assert "got a list" not in said


def test_a_list_with_attempt_zero_says_so() -> None:
    said = problem("name: x\nfaults:\n  - {at: banner, close: true, attempts: [2, 0]}\n")
    assert said.endswith("got 0 as item 2 of the list")


def test_a_flag_kind_says_true_not_one_of_true() -> None:
    said = problem("name: x\nfaults:\n  - {at: banner, close: \"yes\"}\n")
    assert said == "s.yaml:3: faults[0].close: expected true, got 'yes'"


def test_a_near_miss_of_a_short_key_gets_a_did_you_mean() -> None:
    said = problem("name: x\nexpect:\n  attempts: {maks: 3}\n")
    assert said == ("s.yaml:3: expect.attempts.maks: expected one of the keys min, max,"
                    " got 'maks'; did you mean 'max'?")


def test_no_guess_for_a_word_near_nothing() -> None:
    said = problem("name: x\nexpect:\n  attempts: {zzzz: 3}\n")
    assert "did you mean" not in said
