"""harness.strategies: what they draw, and bad arguments refused with clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from harness import faults, strategies
from harness.model import Scenario
from harness.plan import Plan
from harness.properties import expected_outcome
from harness.replies import SMTPReply

FAST = settings(max_examples=60, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def draw_once(strategy: st.SearchStrategy[Any]) -> None:
    @settings(max_examples=1, database=None)
    @given(strategy)
    def inner(value: Any) -> None:
        pass

    inner()


@pytest.mark.parametrize(("strategy", "message"), [
    (strategies.reply_codes(transient=False, permanent=False), "can generate nothing"),
    (strategies.reply_codes(transient=1), r"transient=1 must be True or False"),  # type: ignore[arg-type]
    (strategies.replies(codes=451), r"codes=451 must be a strategy \(e.g. st.just\(451\)\)"),  # type: ignore[arg-type]
    (strategies.replies(codes=st.just(199)), r"codes drew 199, not an SMTP reply code"),
    (strategies.faults(phases=["bannr"]), r"'bannr' is not allowed; allowed: connect, banner"),
    (strategies.faults(phases="banner"), r"phases='banner' must be a list of names"),
    (strategies.faults(kinds=[]), r"kinds=\(\) leaves nothing to generate"),
    (strategies.faults(kinds=["store-then-drop"], phases=["rcpt"]),
     r"no fault of kinds=\('store-then-drop',\) fires at phases=\('rcpt',\)"),
    (strategies.faults(attempts=st.just(0)), r"attempts drew 0; attempts are numbered from 1"),
    (strategies.fault_plans(max_attempts=1), r"max_attempts=1 must be >= 2 and <= 20"),
    (strategies.fault_plans(max_attempts=True), r"max_attempts=True must be an integer"),  # type: ignore[arg-type]
    (strategies.fault_plans(tls="implicit"), r"tls='implicit' must be 'none' or 'starttls'"),  # type: ignore[arg-type]
    (strategies.fault_plans(phases=["tls"]), r"'tls' needs a TLS server: pass tls='starttls'"),
    (strategies.fault_plans(max_faults=0), r"max_faults=0 must be >= 1"),
    (strategies.toxics(types=["latncy"]), r"'latncy' is not allowed; allowed: latency"),
])
def test_bad_arguments_are_refused_with_the_value(strategy: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        draw_once(strategy)


def test_the_good_arguments_control_draws() -> None:
    draw_once(strategies.fault_plans(tls="starttls", phases=["tls", "rcpt"]))


def test_repr_shows_how_the_strategy_was_built() -> None:
    assert repr(strategies.fault_plans(transient_only=True, max_attempts=4)) == (
        "fault_plans(transient_only=True, max_attempts=4)"
    )


@FAST
@given(strategies.reply_codes(permanent=False))
def test_transient_codes_are_4yz(code: int) -> None:
    assert 400 <= code <= 499


@FAST
@given(strategies.replies())
def test_replies_are_valid_and_round_trip(reply: SMTPReply) -> None:
    assert SMTPReply.parse(reply.wire_lines()).code == reply.code
    assert reply.enhanced is None or int(reply.enhanced[0]) == reply.code // 100


def test_boundary_codes_are_boosted() -> None:
    seen: list[int] = []

    @settings(max_examples=200, database=None)
    @given(strategies.reply_codes())
    def collect(code: int) -> None:
        seen.append(code)

    collect()
    boosted = {421, 450, 451, 452, 454, 550, 552, 554}
    assert boosted <= set(seen)  # each of them within 200 draws, among 200 possible codes


@FAST
@given(strategies.fault_plans(transient_only=True, max_attempts=4))
def test_transient_plans_leave_the_last_attempt_clean(plan: Plan) -> None:
    for fault in plan.faults():
        assert max(fault.selector.only or {99}) <= 3
        assert not (isinstance(fault, faults.Reply) and fault.parsed.is_permanent)
    assert expected_outcome(plan, 4)[0] == "delivered"


@FAST
@given(strategies.fault_plans(max_attempts=3, tls="starttls", endless=True))
def test_every_plan_is_a_valid_scenario_file(plan: Plan) -> None:
    scenario = Scenario.from_str(plan.to_yaml("drawn"))
    assert len(scenario.build_faults()) == len(plan.faults())
    assert scenario.server.tls == "starttls"


def test_plans_shrink_to_a_single_fault() -> None:
    from hypothesis import find

    plan = find(strategies.fault_plans(max_attempts=4),
                lambda p: any(isinstance(f, faults.Reset) for f in p.faults()),
                settings=settings(database=None, max_examples=500))
    assert len(plan.faults()) <= 2  # shrinking is a search: small, not always minimal
    assert all(f.selector.only == frozenset({1}) for f in plan.faults())


@FAST
@given(strategies.toxics())
def test_toxics_are_valid(toxic: Any) -> None:
    assert toxic.type in ("latency", "reset_peer", "limit_data", "slicer", "slow_close",
                          "bandwidth")


def test_exports_match_all() -> None:
    public = {n for n in dir(strategies) if not n.startswith(("_", "@"))}
    assert public == set(strategies.__all__)


@FAST
@given(strategies.fault_plans(max_attempts=3, network=True))
def test_network_plans_add_gentle_toxics_that_survive_a_scenario_file(plan: Plan) -> None:
    from harness._strategies.faults import GENTLE_TOXICS

    assert all(t.type in GENTLE_TOXICS and t.direction == "downstream"
               and max(t.selector.only or {99}) <= 2 for t in plan.toxics())
    scenario = Scenario.from_str(plan.to_yaml("drawn"))
    assert scenario.toxics() == plan.toxics()
    assert len(scenario.build_faults()) == len(plan.faults())


def test_network_plans_draw_toxics_and_shrink_to_none() -> None:
    from hypothesis import find

    plan = find(strategies.fault_plans(max_attempts=4, network=True),
                lambda p: len(p.toxics()) >= 1, settings=settings(database=None))
    assert len(plan.toxics()) == 1 and plan.faults() == ()
    quiet = find(strategies.fault_plans(max_attempts=4, network=True), lambda p: True,
                 settings=settings(database=None))
    assert quiet.toxics() == ()


def test_any_registered_kind_can_be_asked_for() -> None:
    from hypothesis import find

    fault = find(strategies.faults(kinds=["size-limit", "auth-failure"]), lambda f: True,
                 settings=settings(database=None))
    assert fault.kind in ("size-limit", "auth-failure")
