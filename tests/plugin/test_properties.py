"""check_properties and the engine's runs, with real clients on real sockets."""

from __future__ import annotations

import contextlib
import smtplib
import threading

import pytest
from hypothesis import HealthCheck, given, settings

from harness import faults, strategies
from harness.clients import Target
from harness.engine import Engine
from harness.errors import InvalidFaultPlan
from harness.model import Scenario
from harness.plan import Plan
from harness.properties import (
    ClientPolicy,
    PropertyFailure,
    check_properties,
    expected_outcome,
    property_expectations,
)
from harness.verdicts import BackoffPolicy
from tests.clients import never_retries, smtplib_backoff

POLICY = ClientPolicy(max_attempts=4, backoff=BackoffPolicy(0.005, 2.0, 0.04, "equal"),
                      time_limit_s=5.0)


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine() as running:
        yield running  # type: ignore[misc]


def throttled() -> Plan:
    plan = Plan()
    plan.on("rcpt").reply("451 4.7.1 Try again later").times(2)
    return plan


def test_a_correct_client_keeps_every_property(engine: Engine) -> None:
    verdict = check_properties(engine, throttled(), smtplib_backoff.send, policy=POLICY)
    assert verdict.passed
    assert verdict.result("delivered").status == "passed"
    assert verdict.result("backoff.floor").status == "passed"


def test_a_client_that_never_retries_fails_with_a_scenario_file(engine: Engine,
                                                                tmp_path: object) -> None:
    path = f"{tmp_path}/found.yaml"
    with pytest.raises(PropertyFailure) as caught:
        check_properties(engine, throttled(), never_retries.send, policy=POLICY, save_to=path)
    failure = caught.value
    message = str(failure)
    assert "violation delivered: No message was delivered in 1 attempt(s)" in message
    assert "#1 S: 451 4.7.1 Try again later" in message
    assert failure.scenario_yaml in message
    saved = Scenario.from_path(path)
    assert saved.name.startswith("found-")
    assert saved.expectations().delivered == "once"
    assert [f.at for f in saved.build_faults()] == ["rcpt"]


def test_the_saved_scenario_catches_the_bug_again(engine: Engine) -> None:
    with pytest.raises(PropertyFailure) as caught:
        check_properties(engine, throttled(), never_retries.send, policy=POLICY)
    scenario = Scenario.from_str(caught.value.scenario_yaml)
    with engine.run(scenario) as run:
        run.call(never_retries.send, time_limit_s=5)
    assert not run.verdict.passed
    with engine.run(scenario) as control:
        control.call(smtplib_backoff.send, time_limit_s=5)
    assert control.verdict.passed, control.verdict


def test_a_hung_client_is_reported_not_waited_for(engine: Engine) -> None:
    release = threading.Event()

    def hangs(target: Target) -> None:
        smtp = smtplib.SMTP(target.host, target.port, local_hostname="t", timeout=10)
        release.wait(10)
        smtp.close()

    def hangs_then_retries(target: Target) -> None:
        try:
            hangs(target)
        finally:  # a hung client that wakes up retries: into the next run, if it could
            for _ in range(3):
                with contextlib.suppress(OSError):
                    smtplib.SMTP(target.host, target.port, local_hostname="t", timeout=1).close()

    before = engine.server().port
    plan = Plan()
    with pytest.raises(PropertyFailure, match="finishes-in-time"):
        check_properties(engine, plan, hangs_then_retries,
                         policy=ClientPolicy(max_attempts=1, time_limit_s=0.3))
    release.set()
    # the hung client's server was retired: the next run is on a fresh server, alone
    with engine.run(Plan()) as control:
        control.call(smtplib_backoff.send)
    assert control.port != before
    assert len(control.timeline.attempts) == 1


@pytest.mark.parametrize(("build", "outcome"), [
    (lambda p: None, ("delivered", 1)),
    (lambda p: p.on("mail").reply("451 Later").times(2), ("delivered", 3)),
    (lambda p: p.on("rcpt").reply("550 No").once(), ("refused", 1)),
    (lambda p: (p.on("quit").reply("421 Bye"), p.on("mail").delay(0.01)), ("delivered", 1)),
    (lambda p: p.on("dot").store_then_drop(), ("exhausted", 3)),
    (lambda p: p.on("rcpt", to="x@y").reply("451 Later"), ("unknown", 1)),
    (lambda p: p.on("banner").reply("421 Busy").on_attempts("2+"), ("delivered", 1)),
])
def test_expected_outcome(build: object, outcome: tuple[str, int]) -> None:
    plan = Plan()
    build(plan)  # type: ignore[operator]
    assert expected_outcome(plan, 3) == outcome


def test_property_expectations_follow_the_outcome() -> None:
    refused = Plan([faults.Reply(at="mail", reply="550 5.7.1 No")])
    spec = property_expectations(refused, POLICY)
    assert spec.delivered == "never"
    assert spec.no_retry_after_permanent and spec.closes_after_421
    assert spec.no_plaintext_fallback is None
    tls = property_expectations(Plan(tls="starttls"), POLICY)
    assert tls.delivered == "once" and tls.no_plaintext_fallback


def test_client_policy_is_checked() -> None:
    with pytest.raises(InvalidFaultPlan, match=r"max_attempts=0"):
        ClientPolicy(max_attempts=0)


def test_runs_reuse_one_server_and_share_nothing(engine: Engine) -> None:
    with engine.run(throttled()) as first:
        first.call(smtplib_backoff.send)
    with engine.run(Plan()) as second:
        second.call(smtplib_backoff.send)
    assert first.port == second.port
    assert len(first.timeline.attempts) == 3 and len(second.timeline.attempts) == 1
    assert first.seed != second.seed


def test_a_run_with_toxics_goes_through_the_proxy(engine: Engine) -> None:
    plan = Plan().toxic("reset_peer", timeout=0, attempts=1)
    with engine.run(plan) as run:
        assert run.port != engine.server().port
        run.call(smtplib_backoff.send)
    assert len(run.messages) == 1
    assert run.timeline.attempts[0].closed_by == "proxy-reset"
    with engine.run(Plan()) as control:  # the proxy's toxics are gone with the plan
        control.call(smtplib_backoff.send)
    assert len(control.timeline.attempts) == 1


@settings(max_examples=6, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(plan=strategies.fault_plans(transient_only=True, max_attempts=4, network=True))
def test_a_correct_client_keeps_every_property_through_drawn_toxics(
    engine: Engine, plan: Plan
) -> None:
    """Toxics drawn with the faults go through the chaos proxy, and a correct client
    still delivers once, in time, backing off."""
    verdict = check_properties(engine, plan, smtplib_backoff.send, policy=POLICY)
    assert verdict.passed
