"""Real sockets: the fake server, smtplib senders, and the verdict each one earns.

The correct sender (exponential backoff, full jitter, 100 ms initial delay, at least 20x
the timer noise) passes; each broken one is caught by the expectation written for its bug.
The senders' own retry sleeps are the behaviour under test; nothing here sleeps to wait.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from harness import faults
from harness.faults import Fault
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Timeline
from harness.verdicts import (
    AttemptBounds,
    BackoffPolicy,
    Calibration,
    Expectations,
    Verdict,
    calibrate,
    judge,
)
from harness.verdicts.backoff import HAMMER_S
from harness.verdicts.delays import retries
from harness.verdicts.stats import median
from tests.verdicts.clients import Sender, full_jitter, settled

BUSY = "421 4.7.0 Try again later"
DOUBLING = BackoffPolicy(initial_s=0.1, factor=2.0, cap_s=1.0, jitter="none")
JITTERED = BackoffPolicy(initial_s=0.1, factor=2.0, cap_s=1.0, jitter="full")


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return calibrate()


def run(sender: Sender, plan: Sequence[Fault]) -> tuple[Timeline, int]:
    with FakeSMTPServer(plan, seed=1) as server:
        code = sender.run(server.host, server.port)
        return settled(server.recorder.wait_for), code


def busy(attempts: str) -> list[Fault]:
    return [faults.Reply(at="banner", reply=BUSY, attempts=attempts)]


def verdict_for(sender: Sender, plan: Sequence[Fault], expectations: Expectations,
                calibration: Calibration) -> Verdict:
    timeline, code = run(sender, plan)
    return judge(timeline, expectations, client_exit=code, calibration=calibration)


def test_a_correct_jittered_sender_passes(calibration: Calibration) -> None:
    sender = Sender(full_jitter(0.1, 2.0, 1.0, seed=5))
    expectations = Expectations(
        delivered="once", attempts=AttemptBounds(min=4, max=6), backoff=JITTERED,
        closes_after_421=True, client_exit="zero",
    )
    verdict = verdict_for(sender, busy("1-3"), expectations, calibration)
    assert verdict.passed, str(verdict)
    assert verdict.result("backoff.floor").status == "passed"
    assert verdict.result("delivered").status == "passed"
    assert verdict.result("closes-after-421").evidence["attempts_with_421"] == [1, 2, 3]
    assert verdict.result("backoff.envelope").status in ("passed", "inconclusive")
    assert verdict.fitted is not None and verdict.fitted.retries == 3


def test_a_sender_that_retries_at_once_breaks_the_floor(calibration: Calibration) -> None:
    verdict = verdict_for(Sender(lambda n: 0.0), busy("1-3"),
                          Expectations(delivered="once", backoff=DOUBLING), calibration)
    floor = verdict.result("backoff.floor")
    assert (floor.level, floor.status) == ("violation", "failed")
    # retry 3 (attempt 4) owed 0.4 s; load can stretch a reconnect, never that far
    assert 4 in [row["attempt"] for row in floor.evidence["too_early"]]
    assert verdict.result("delivered").status == "passed"
    assert not verdict.passed


def test_a_sender_with_a_constant_delay_breaks_the_declared_floor(
    calibration: Calibration,
) -> None:
    verdict = verdict_for(Sender(lambda n: 0.1), busy("1-3"),
                          Expectations(backoff=DOUBLING), calibration)
    floor = verdict.result("backoff.floor")
    assert floor.status == "failed"
    assert 4 in [row["attempt"] for row in floor.evidence["too_early"]]
    assert not verdict.passed


def test_a_sender_that_retries_after_550_is_caught(calibration: Calibration) -> None:
    plan = [faults.Reply(at="mail", reply="550 5.1.0 Sender rejected", attempts="all")]
    sender = Sender(lambda n: 0.05, max_attempts=3, retry_permanent=True)
    verdict = verdict_for(sender, plan, Expectations(no_retry_after_permanent=True,
                                                     client_exit="non-zero"), calibration)
    result = verdict.result("no-retry-after-permanent")
    assert (result.level, result.status) == ("deviation", "failed")
    assert result.evidence["later_attempts"] == [2, 3]
    assert result.evidence["rejected"] == "MAIL"


def test_a_sender_that_stops_after_550_passes(calibration: Calibration) -> None:
    plan = [faults.Reply(at="mail", reply="550 5.1.0 Sender rejected", attempts="all")]
    verdict = verdict_for(Sender(lambda n: 0.05), plan,
                          Expectations(no_retry_after_permanent=True, delivered="never",
                                       client_exit="non-zero"), calibration)
    assert verdict.passed, str(verdict)
    assert verdict.result("no-retry-after-permanent").status == "passed"


def test_a_sender_that_never_gives_up_is_caught() -> None:
    # fixed calibration: the client's sleeps alone (11 x 30 ms) exceed the fail threshold
    quiet = Calibration(samples=1, sleep_s=0.001, p50_s=0.0, p99_s=0.0, q_s=0.001)
    sender = Sender(lambda n: 0.03, max_attempts=12)
    verdict = verdict_for(sender, busy("all"),
                          Expectations(attempts=AttemptBounds(max=4), gives_up_within_s=0.1,
                                       client_exit="non-zero"), quiet)
    attempts = verdict.result("attempts")
    assert (attempts.level, attempts.status) == ("violation", "failed")
    assert attempts.evidence["attempts"] == 12
    assert verdict.result("gives-up-within").status == "failed"
    assert verdict.result("client-exit").status == "passed"


def test_a_sender_that_delivers_twice_is_caught(calibration: Calibration) -> None:
    verdict = verdict_for(Sender(lambda n: 0.05, send_twice=True), [],
                          Expectations(delivered="once"), calibration)
    delivered = verdict.result("delivered")
    assert (delivered.level, delivered.status) == ("violation", "failed")
    assert delivered.evidence["duplicates"] == {"<verdicts-1@example.org>": [1, 2]}


def test_a_retry_after_store_then_drop_is_duplicate_risk_not_a_violation(
    calibration: Calibration,
) -> None:
    plan = [faults.StoreThenDrop(attempts=1)]
    verdict = verdict_for(Sender(lambda n: 0.05), plan, Expectations(delivered="once"),
                          calibration)
    assert verdict.result("delivered").status == "passed"
    risk = verdict.result("duplicate-risk")
    assert (risk.level, risk.status) == ("advisory", "failed")
    assert risk.evidence["unacknowledged_attempts"] == [1]
    assert verdict.passed


def test_closing_after_a_421_to_mail_passes(calibration: Calibration) -> None:
    plan = [faults.Reply(at="mail", reply=BUSY, attempts=1)]
    verdict = verdict_for(Sender(lambda n: 0.05), plan,
                          Expectations(closes_after_421=True, delivered="once"), calibration)
    result = verdict.result("closes-after-421")
    assert result.status == "passed"
    assert result.evidence["attempts_with_421"] == [1]


def test_a_doubling_sender_passes_the_declared_and_the_generic_backoff(
    calibration: Calibration,
) -> None:
    sender = Sender(lambda n: 0.1 * 2 ** (n - 1))
    timeline, code = run(sender, busy("1-3"))
    declared = judge(timeline, Expectations(backoff=DOUBLING, delivered="once"),
                     calibration=calibration, client_exit=code)
    assert declared.passed, str(declared)
    assert declared.result("backoff.floor").status == "passed"
    generic = judge(timeline, Expectations(backoff="increasing"), calibration=calibration)
    # a stall of the machine on one retry may leave growth undecided, never failed
    assert generic.result("backoff.growth").status in ("passed", "inconclusive")
    # without a declared policy, retries within the measured timer noise of their failure
    # are undecided (a loaded machine), never failed; beyond it they pass
    delays = [r.lower_s for r in retries(timeline)]
    floor = generic.result("backoff.floor")
    if median(delays) >= HAMMER_S + calibration.noise_s():
        assert floor.status == "passed", floor
    else:
        assert floor.status == "inconclusive" and "timer noise" in floor.detail, floor
