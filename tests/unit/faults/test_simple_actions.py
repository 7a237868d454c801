"""delay, close, reset, hang and store-then-drop: each maps to one action."""

import pytest

from harness import InvalidFaultPlan, faults
from harness.smtp.faults.base import Disconnect, Pause, Stall, StoreAndDisconnect
from tests.unit.faults.context import context


def test_delay_pauses() -> None:
    assert faults.Delay(at="banner", seconds=2).act(context("banner")) == Pause(2.0)


@pytest.mark.parametrize("seconds", [-1, "3", True])
def test_delay_rejects_bad_seconds(seconds: object) -> None:
    with pytest.raises(InvalidFaultPlan, match=r"delay: seconds=.* allowed: a number >= 0"):
        faults.Delay(at="banner", seconds=seconds)  # type: ignore[arg-type]


def test_close_and_reset_disconnect() -> None:
    assert faults.Close(at="mail").act(context("mail")) == Disconnect(reset=False)
    assert faults.Reset(at="mail").act(context("mail")) == Disconnect(reset=True)


def test_hang_stalls() -> None:
    assert faults.Hang(at="data").act(context("data")) == Stall()


def test_store_then_drop_is_only_at_dot() -> None:
    assert faults.StoreThenDrop().act(context("dot")) == StoreAndDisconnect()
    with pytest.raises(InvalidFaultPlan, match="allowed: dot"):
        faults.StoreThenDrop(at="rcpt")
