import pytest

from harness import InvalidFaultPlan, faults
from harness.smtp.faults.base import Send
from tests.unit.faults.context import FakeServer, context


def test_connection_limit_refuses_above_the_limit() -> None:
    fault = faults.ConnectionLimit(max_connections=2)
    assert fault.act(context("banner", server=FakeServer(open_before=1))) is None
    action = fault.act(context("banner", server=FakeServer(open_before=2)))
    assert isinstance(action, Send) and action.reply.code == 421 and action.then_close


def test_rate_limit_counts_messages_in_the_window() -> None:
    fault = faults.RateLimit(messages=2, window_s=10)
    assert fault.act(context("mail", now=100.0, server=FakeServer(accepted=[85.0, 95.0]))) is None
    action = fault.act(context("mail", now=100.0, server=FakeServer(accepted=[91.0, 95.0])))
    assert isinstance(action, Send) and action.reply.code == 421


@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_limits_need_a_positive_whole_number(value: object) -> None:
    with pytest.raises(InvalidFaultPlan, match=r"max_connections=.*a whole number >= 1"):
        faults.ConnectionLimit(max_connections=value)  # type: ignore[arg-type]
