"""What every fault shares: phase, attempts, match, probability, after_bytes."""

import pytest

from harness import InvalidFaultPlan, faults
from harness.faults import Attempts, FaultSchedule
from tests.unit.faults.context import context


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ("all", [1, 2, 99], []),
        (None, [1, 7], []),
        (2, [2], [1, 3]),
        ([1, 3], [1, 3], [2, 4]),
        ("1-2", [1, 2], [3]),
        ("3+", [3, 4, 100], [1, 2]),
        ("4", [4], [3, 5]),
    ],
)
def test_attempt_selectors(spec: object, inside: list[int], outside: list[int]) -> None:
    selector = Attempts.parse(spec)  # type: ignore[arg-type]
    assert all(n in selector for n in inside)
    assert not any(n in selector for n in outside)


@pytest.mark.parametrize("spec", [0, "x", "3-1", [], [0], True, 1.5, "-2"])
def test_bad_attempt_selectors_name_the_allowed_forms(spec: object) -> None:
    with pytest.raises(InvalidFaultPlan, match="attempt"):
        Attempts.parse(spec)  # type: ignore[arg-type]


def test_unknown_phase_names_the_phases() -> None:
    with pytest.raises(InvalidFaultPlan, match=r"at='helo' is not a phase; allowed: connect, "):
        faults.Close(at="helo")  # type: ignore[arg-type]


def test_body_needs_a_byte_count() -> None:
    with pytest.raises(InvalidFaultPlan, match="at='body' needs after_bytes"):
        faults.Reset(at="body")
    with pytest.raises(InvalidFaultPlan, match="after_bytes is only for at='body'"):
        faults.Reset(at="mail", after_bytes=10)


@pytest.mark.parametrize("probability", [2, -0.1, "half", True])
def test_probability_must_be_between_0_and_1(probability: object) -> None:
    with pytest.raises(InvalidFaultPlan, match=r"probability=.* allowed: a number from 0 to 1"):
        faults.Close(at="mail", probability=probability)  # type: ignore[arg-type]


def test_selects_by_phase_attempt_and_match() -> None:
    fault = faults.Close(at="rcpt", attempts="2+", match="BOB@")
    assert fault.selects(context("rcpt", attempt=2, argument="TO:<bob@x>"))
    assert not fault.selects(context("rcpt", attempt=1, argument="TO:<bob@x>"))
    assert not fault.selects(context("rcpt", attempt=2, argument="TO:<alice@x>"))
    assert not fault.selects(context("mail", attempt=2, argument="TO:<bob@x>"))


def test_plan_pauses_add_up_and_the_first_takeover_wins() -> None:
    plan = FaultSchedule([
        faults.Delay(at="mail", seconds=1),
        faults.Reply(at="mail", reply="451 4.3.0 No"),
        faults.Close(at="mail"),
    ])
    fired = [fault.kind for fault, _ in plan.consult(context("mail"))]
    assert fired == ["delay", "reply"]


def test_plan_draws_are_replayed_by_the_seed() -> None:
    def fired(seed: int) -> list[int]:
        plan = FaultSchedule([faults.Close(at="banner", probability=0.5)], seed=seed)
        return [n for n in range(1, 41) if plan.consult(context("banner", attempt=n))]

    assert fired(7) == fired(7)
    assert fired(7) != fired(8)
    assert 5 < len(fired(7)) < 35


def test_plan_rejects_things_that_are_not_faults() -> None:
    with pytest.raises(InvalidFaultPlan, match=r"faults\[1\] is 'close', not a fault"):
        FaultSchedule([faults.Close(at="mail"), "close"])  # type: ignore[list-item]
