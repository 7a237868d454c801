"""Catalogue II: every scenario of the reference's remaining cases is failed by the zoo
client broken in the way it targets, and passed by the zoo's correct client. (The
bundled example client passes them in tests/cli/test_catalogue.py, with the rest.)"""

from __future__ import annotations

import smtplib
import ssl
import sys

import pytest

from harness import FakeSMTPServer, faults
from harness.clients import CommandClient, Target
from harness.engine import Engine
from harness.examples.client import (
    PermanentFailure,
    Policy,
    Pool,
    build_message,
    send_all,
    send_with_retries,
)
from harness.model import load_scenario
from tests.clients import Specimen
from tests.clients._common import workload

CAUGHT_BY = {
    "class-mismatch-451": "enhanced_code_first",
    "class-mismatch-550": "enhanced_code_first",
    "unknown-code-299": "strict_reply_codes",
    "unknown-code-477": "strict_reply_codes",
    "multiline-bare-250": "strict_reply_codes",
    "no-esmtp": "strict_reply_codes",
    "no-esmtp-starttls": "plaintext_fallback",
    "silent-after-rcpt": "no_timeout",
    "outage-never-ends": "doubled_retries",
    "starttls-no-pipelining": "pipelines_starttls",
    "implicit-plaintext-server": "plaintext_fallback",
    "starttls-ehlo-ignored": "stale_capabilities",
    "auth-535": "auth_hammer",
    "auth-454-once": "login_failure_permanent",
    "auth-421": "login_failure_permanent",
    "auth-required": "logs_in_once",
    "size-limit-552": "retries_after_550",
    "stop-reading-mid-data": "no_timeout",
}
AUTH_SCENARIOS = ("auth-535", "auth-454-once", "auth-421", "auth-required")
CORRECT = "smtplib_backoff"


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(settle_s=2.0) as running:
        yield running


def failures(engine: Engine, scenario: str, client: str) -> list[str]:
    with engine.run(load_scenario(scenario)) as run:
        run.call(Specimen(client, None).send, time_limit_s=6.0)
    return [r.name for r in run.verdict.failures]


@pytest.mark.parametrize(("scenario", "client"), CAUGHT_BY.items())
def test_the_broken_client_is_caught(engine: Engine, scenario: str, client: str) -> None:
    assert failures(engine, scenario, client)


@pytest.mark.parametrize("scenario", CAUGHT_BY)
def test_the_correct_client_passes(engine: Engine, scenario: str) -> None:
    assert failures(engine, scenario, CORRECT) == []


def never_logs_in(target: Target) -> None:
    """A client given no credentials: STARTTLS where offered, then MAIL without AUTH."""
    with smtplib.SMTP(target.host, target.port, timeout=5) as smtp:
        smtp.ehlo()
        smtp.starttls(context=ssl.create_default_context(cafile=target.cafile))
        smtp.ehlo()
        smtp.sendmail("a@harness.test", ["b@harness.test"], "Subject: x\r\n\r\nhi\r\n")


@pytest.mark.parametrize("scenario", AUTH_SCENARIOS)
def test_a_client_that_never_logs_in_is_not_exercised(engine: Engine, scenario: str) -> None:
    """What an AUTH scenario tests never happened: not exercised, never passed; the reason
    says what happened instead (the 530 of a server that requires AUTH)."""
    with engine.run(load_scenario(scenario)) as run:
        run.call(never_logs_in, time_limit_s=6.0)
    assert run.result.outcome == "not-exercised"
    why = run.result.why
    assert any("never sent AUTH" in reason or "sent no AUTH" in reason for reason in why), why
    if scenario == "auth-required":
        assert any("MAIL on attempt 1 got '530 5.7.0 Authentication required'" in reason
                   for reason in why), why


def test_the_auth_hammer_is_told_what_it_did(engine: Engine) -> None:
    with engine.run(load_scenario("auth-535")) as run:
        run.call(Specimen("auth_hammer", None).send, time_limit_s=6.0)
    detail = run.verdict.result("no-retry-after-permanent").detail
    assert detail.startswith("After 535 to AUTH on attempt 1 the client tried the same"
                             " credentials again on attempts 2, 3")
    assert len(run.result.timeline.attempts) == 6  # its declared limit


def bundled_pool(target: Target) -> None:
    """The bundled client's pool sending the scenario's messages, as it does from the shell."""
    pool = Pool(target.host, target.port, Policy(timeout_s=3.0), tls=target.tls,
                cafile=target.cafile)
    if send_all(pool, workload(target)) == 1:
        raise ConnectionError("gave up on a message")


def test_a_refused_message_does_not_stop_the_next(engine: Engine) -> None:
    """R12: the second of three messages is refused for good; the third is still sent."""
    with engine.run(load_scenario("mail-550-then-next")) as run:
        run.call(bundled_pool, time_limit_s=10.0)
    assert run.result.outcome == "passed"
    assert run.verdict.result("delivered.all").evidence == {
        "expected": 2, "distinct": 2, "stored": 2, "refused": 1}
    with engine.run(load_scenario("mail-550-then-next")) as run:
        run.call(Specimen("abandons_batch", None).send, time_limit_s=10.0)
    assert [r.name for r in run.verdict.failures] == ["delivered.all"]
    assert "MUST NOT be cached" in run.verdict.result("delivered.all").detail
    assert len(run.result.timeline.messages) == 1


def test_a_refused_message_sent_again_is_caught(engine: Engine) -> None:
    """The other way to get R12 wrong: the refused message retried until it got through."""
    def retries_refused(target: Target) -> None:
        pool = Pool(target.host, target.port, Policy(timeout_s=3.0), tls=target.tls)
        for message in workload(target):
            for _ in range(3):
                try:
                    send_with_retries(pool, message)
                    break
                except PermanentFailure:
                    continue
        pool.close()

    with engine.run(load_scenario("mail-550-then-next")) as run:
        run.call(retries_refused, time_limit_s=10.0)
    result = run.verdict.result("delivered.all")
    assert result.status == "failed" and "was sent again" in result.detail


RECIPIENTS = "alice@harness.example,bob@harness.example,carol@harness.example"


@pytest.mark.parametrize(("module", "failed"), [
    ("harness.examples.client", []), ("tests.clients.ignores_refused_recipients", ["delivered"]),
])
def test_a_recipient_left_over_gets_the_message_later(
        engine: Engine, module: str, failed: list[str]) -> None:
    """452 4.5.3 to the third of three recipients: the bundled client sends it the message
    in a second transaction; smtplib's sendmail, its return value unread, drops it."""
    scenario = load_scenario("rcpt-452-too-many")
    assert scenario.client.env == {"HARNESS_SMTP_RCPT": RECIPIENTS}
    with engine.run(scenario) as run:
        run.run_client(CommandClient([sys.executable, "-m", module, "--host", "{host}",
                                      "--port", "{port}"], env=scenario.client.env))
    assert [r.name for r in run.verdict.failures] == failed
    envelopes = [m.rcpt_tos for m in run.result.timeline.messages]
    if failed:
        assert envelopes == [("alice@harness.example", "bob@harness.example")]
    else:
        assert run.result.outcome == "passed"
        assert envelopes == [("alice@harness.example", "bob@harness.example"),
                             ("carol@harness.example",)]


def one_message(target: Target) -> None:
    with smtplib.SMTP(target.host, target.port, timeout=5) as smtp:
        smtp.sendmail("a@harness.test", ["b@harness.test"], "Subject: x\r\n\r\nhi\r\n")


@pytest.mark.parametrize(("scenario", "reason"), [
    ("mail-550-then-next", "it fires at MAIL FROM number 2 of the run, and attempt 1 sent 1"),
    ("rcpt-452-too-many", "attempt 1 sent RCPT TO, and its condition was not met"),
])
def test_a_one_message_one_recipient_client_is_not_exercised(
        engine: Engine, scenario: str, reason: str) -> None:
    with engine.run(load_scenario(scenario)) as run:
        run.call(one_message, time_limit_s=6.0)
    assert run.result.outcome == "not-exercised"
    assert any(why.endswith(reason) for why in run.result.why), run.result.why


def test_a_recipient_deferred_on_a_reused_connection_waits_its_backoff(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Message 2 goes on the connection message 1 used; bob@ gets 451 there while alice@
    is accepted. The bundled client sends it to bob@ alone after its backoff delay: the
    "at once" of a connection that died while idle is not for a server that said later."""
    fault = faults.Reply(at="rcpt", match="bob@", reply="451 4.7.1 Try again later",
                         occurrence=2)
    two = ["alice@harness.test", "bob@harness.test"]
    with FakeSMTPServer([fault]) as server:
        pool = Pool(server.host, server.port, Policy(timeout_s=3.0))
        messages = [build_message("a@harness.test", two, f"message {n}") for n in (1, 2)]
        assert send_all(pool, messages, log=True) == 0
        timeline = server.recorder.wait_for(
            lambda t: all(a.end_ns is not None for a in t.attempts), 5.0)
    assert [m.rcpt_tos for m in timeline.messages] == [
        tuple(two), ("alice@harness.test",), ("bob@harness.test",)]
    assert len(timeline.attempts) == 1
    log = capsys.readouterr().err
    assert "retrying in" in log and "at once" not in log
