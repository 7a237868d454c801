"""The fluent Plan: the faults and expectations it builds, its errors, its scenario file."""

from __future__ import annotations

import pytest

from harness import faults
from harness.chaos import Toxic
from harness.errors import InvalidFaultPlan
from harness.model import Scenario
from harness.plan import Plan, fault_item
from harness.verdicts import AttemptBounds, BackoffPolicy


def test_the_issue_example_builds_faults_and_expectations() -> None:
    plan = Plan()
    plan.on("rcpt", to="bob@example.org").reply("451 4.7.1 Later").times(2)
    plan.drop_after(2048, attempt=1)
    plan.expect.delivered_once().backoff(at_least=0.1, factor=2)
    reply, drop = plan.faults()
    assert isinstance(reply, faults.Reply)
    assert (reply.at, reply.match, str(reply.selector), reply.parsed.code) == (
        "rcpt", "bob@example.org", "1-2", 451)
    assert isinstance(drop, faults.Close)
    assert (drop.at, drop.after_bytes, str(drop.selector)) == ("body", 2048, "1")
    spec = plan.expect.build()
    assert spec.delivered == "once"
    assert spec.backoff == BackoffPolicy(0.1, 2.0, None, "none")


def test_an_empty_plan_is_the_control() -> None:
    plan = Plan()
    assert plan.faults() == ()
    assert Scenario.from_str(plan.to_yaml("control")).build_faults() == ()


def test_scope_before_or_after_the_action() -> None:
    a = Plan()
    a.on("mail").on_attempts(1, 3).close()
    b = Plan()
    b.on("mail").close().on_attempts(1, 3)
    assert fault_item(a.faults()[0]) == fault_item(b.faults()[0]) == {
        "at": "mail", "attempts": [1, 3], "close": True}


@pytest.mark.parametrize(("build", "message"), [
    (lambda p: p.on("rcpt2"), r"on\('rcpt2'\): not a phase; allowed: connect, banner"),
    (lambda p: p.on("mail", to="x@y"), r"to= is for 'rcpt'; use match="),
    (lambda p: p.on("rcpt").reply("451 Later").close(), r"already does 'reply'"),
    (lambda p: p.on("rcpt").reply("4x1 Later"), r"does not start with a three-digit code"),
    (lambda p: p.on("rcpt").close().times(0), r"times\(n=0\): n must be an integer >= 1"),
    (lambda p: p.on("mail").store_then_drop(), r"not a phase this fault can fire at"),
    (lambda p: p.drop_after(-1), r"drop_after\(n_bytes=-1\)"),
    (lambda p: p.toxic("latncy", latency=5), r"toxic\('latncy'\): invalid toxic type"),
    (lambda p: p.tls("ssl"), r"tls\('ssl'\): allowed: none, starttls, implicit"),
    (lambda p: p.expect.backoff(at_least=0), r"backoff\(at_least=0\): seconds above 0"),
    (lambda p: p.expect.backoff(0.1, factor=0.5), r"backoff\(factor=0.5\): a number >= 1"),
    (lambda p: p.expect.attempts(min=3, max=2), r"max is below min"),
    (lambda p: p.expect.attempts(), r"attempts\(\) needs exactly, min or max"),
])
def test_mistakes_fail_on_the_line_that_made_them(build: object, message: str) -> None:
    with pytest.raises(InvalidFaultPlan, match=message):
        build(Plan())  # type: ignore[operator]


def test_a_rule_without_an_action_is_reported() -> None:
    plan = Plan()
    plan.on("rcpt")
    with pytest.raises(InvalidFaultPlan, match=r"plan.on\('rcpt'\) has no action"):
        plan.faults()


def test_the_plan_round_trips_through_a_scenario_file() -> None:
    plan = Plan(tls="starttls")
    plan.on("banner").reply(["421-4.7.0 Busy", "421 4.7.0 Try later"]).once()
    plan.on("rcpt", to="b@example.org").delay(0.2).with_probability(0.5)
    plan.on("dot").store_then_drop().on_attempts("2+")
    plan.add(faults.Greylist(seconds=1), faults.StripStartTLS(attempts=3),
             faults.HandshakeFailure(attempts=[4, 5]),
             Toxic(type="reset_peer", attributes={"timeout": 10}, attempts="2-3"))
    plan.toxic("latency", latency=20, stream="upstream")
    plan.expect.delivered_once().attempts(max=6).backoff(0.05, factor=3, cap=1,
                                                        jitter="full").closes_after_421()
    plan.expect.no_plaintext_fallback().gives_up_within(30).relax("backoff.growth")
    scenario = Scenario.from_str(plan.to_yaml("round-trip"))
    assert [fault_item(f) for f in scenario.build_faults()] == [
        fault_item(f) for f in plan.faults()]
    assert [(t.type, t.attributes, t.stream, str(t.selector)) for t in scenario.toxics()] == [
        ("reset_peer", {"timeout": 10}, "downstream", "2-3"),
        ("latency", {"latency": 20, "jitter": 0}, "upstream", "all"),
    ]
    assert scenario.toxics() == plan.toxics()
    assert scenario.expectations() == plan.expect.build()
    assert scenario.expectations().attempts == AttemptBounds(None, 6)
    assert scenario.server.tls == "starttls"


def test_any_registered_kind_by_its_name() -> None:
    plan = Plan()
    plan.on("mail").kind("size-limit", max_bytes=1000).times(1)
    plan.on("body", after_bytes=64).kind("stop-reading")
    assert [fault_item(f) for f in plan.faults()] == [
        {"attempts": 1, "size-limit": 1000}, {"after_bytes": 64, "stop-reading": True}]
    assert Scenario.from_str(plan.to_yaml("kinds")).build_faults() == plan.faults()
    with pytest.raises(InvalidFaultPlan, match="'size-limt'\\) is not a fault kind"):
        Plan().on("mail").kind("size-limt")
