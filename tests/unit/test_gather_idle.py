"""The herd and idle-pool fault kinds, in memory: gather's ticks, idle-timeout's count."""

from __future__ import annotations

import pytest

from harness.faults import Gather, IdleTimeout
from harness.smtp.faults.base import Disconnect, FaultContext, Pause, Send


def test_gather_holds_each_connection_to_the_next_tick_from_the_first() -> None:
    gather = Gather(every_s=2.5)
    state: dict[object, object] = {}

    def hold(attempt: int, now: float) -> float:
        action = gather.act(FaultContext(attempt, "banner", now, state=state))
        assert isinstance(action, Pause)
        return round(now + action.seconds, 9)

    assert hold(1, 10.0) == 12.5  # the first one waits a whole period
    assert hold(2, 11.9) == 12.5  # a later one joins it
    assert hold(3, 12.5) == 15.0  # at the tick itself: the next one
    assert hold(4, 13.0) == 15.0
    assert Gather(every_s=0).act(FaultContext(1, "banner", 5.0)) == Pause(0.0)


@pytest.mark.parametrize(("reset", "kind"), [(False, Send), (True, Disconnect)])
def test_idle_timeout_fires_on_a_connection_s_second_transaction(reset: bool, kind: type) -> None:
    fault = IdleTimeout(reset=reset)
    state: dict[object, object] = {}
    assert fault.act(FaultContext(1, "mail", 0.0, state=state)) is None
    assert fault.act(FaultContext(2, "mail", 0.1, state=state)) is None  # a new connection
    action = fault.act(FaultContext(1, "mail", 0.2, state=state))
    assert isinstance(action, kind)
    if isinstance(action, Send):
        assert (action.reply.code, action.reply.enhanced, action.then_close) == (421, "4.4.2", True)
