"""A check whose situation never arose is skipped with the reason from the timeline, never
passed, and a message never blames the client for something else. Each case has its
twin in which the situation does arise and the check decides.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.clients import CommandClient
from harness.model import Scenario, load_scenario
from harness.outcome import RunResult
from harness.run import run_scenario


def zoo(name: str, *options: str) -> list[str]:
    return [sys.executable, "-m", f"tests.clients.{name}", "--host", "{host}", "--port",
            "{port}", *options]


def send_to(*recipients: str) -> list[str]:
    """smtplib sending one message to ``recipients``, over STARTTLS where offered."""
    return [sys.executable, "-c", (
        "import smtplib, ssl, sys\n"
        "smtp = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=10)\n"
        "smtp.ehlo()\n"
        "if smtp.has_extn('starttls'):\n"
        "    smtp.starttls(context=ssl.create_default_context(cafile=sys.argv[3]))\n"
        "    smtp.ehlo()\n"
        "smtp.sendmail('a@harness.test', sys.argv[4:], 'Subject: x\\r\\n\\r\\nhi\\r\\n')\n"
        "smtp.quit()\n"), "{host}", "{port}", "{cafile}", *recipients]


def run(name: str, command: list[str]) -> RunResult:
    return run_scenario(load_scenario(name), CommandClient(command), timeout_s=30)


def test_a_client_that_never_connects_is_not_blamed_for_giving_up() -> None:
    result = run("banner-421-throttle", ["false"])
    assert not result.timeline.attempts and not result.passed
    for r in result.verdict.results:
        assert "gave up" not in r.detail and "transient" not in r.detail, r
    assert result.verdict.result("attempts").detail == (
        "The client never connected: nothing to judge.")
    assert result.verdict.result("delivered").detail == (
        "The client never connected, so no message was delivered.")
    assert {r.status for r in result.verdict.results if r.key} == {"skipped"}


def test_a_plaintext_client_on_a_starttls_scenario_never_issued_starttls() -> None:
    result = run("cert-expired-starttls", zoo("smtplib_backoff"))  # --tls none: cleartext
    delivered = result.verdict.result("delivered")
    assert delivered.status == "failed"
    assert "never issued STARTTLS" in delivered.detail
    assert "permanent rejection" not in delivered.detail
    refused = result.verdict.result("refuses-bad-certificate")
    assert refused.status == "skipped" and "never issued STARTTLS" in refused.detail
    # twin: the same client told to use STARTTLS meets the certificate and refuses it
    twin = run("cert-expired-starttls", zoo("smtplib_backoff", "--tls", "starttls",
                                            "--cafile", "{cafile}"))
    assert twin.passed and twin.verdict.result("refuses-bad-certificate").status == "passed"


def test_a_single_recipient_client_meets_no_partial_rejection() -> None:
    one = run("rcpt-550-partial", send_to("alice@harness.test"))
    skipped = one.verdict.result("no-retry-after-permanent")
    assert (skipped.status, skipped.key) == ("skipped", True)
    # the client's own command, quoted; smtplib writes "TO" or "to" by Python version
    assert "only one recipient was given ('rcpt to:<alice@harness.test>')" in (
        skipped.detail.lower())
    two = run("rcpt-550-partial", send_to("alice@harness.test", "bob@harness.test"))
    decided = two.verdict.result("no-retry-after-permanent")
    assert decided.status == "passed" and two.passed, two.verdict
    assert decided.evidence["recipients"] == ["bob@harness.test"]


@pytest.mark.slow
def test_a_client_that_sends_no_auth_is_skipped_on_the_auth_check() -> None:
    result = run("starttls-auth-before-tls", send_to("alice@harness.test"))
    auth = result.verdict.result("no-plaintext-auth")
    assert (auth.status, auth.detail) == ("skipped", "No AUTH was sent: nothing to judge.")
    twin = run("starttls-auth-before-tls", zoo("auth_before_tls", "--tls", "starttls",
                                               "--cafile", "{cafile}"))
    assert twin.verdict.result("no-plaintext-auth").status == "failed"
    correct = run("starttls-auth-before-tls", zoo("smtplib_backoff", "--tls", "starttls",
                                                  "--cafile", "{cafile}"))
    assert correct.verdict.result("no-plaintext-auth").status == "passed", correct.verdict



def test_giving_up_while_the_service_is_down_is_not_exercised_and_named(
    tmp_path: Path,
) -> None:
    """A ``down`` outage refuses connections for real, so the server sees none: a client
    refused that gives up within the outage leaves the same empty timeline as one that
    never tried (``harness run -- false``). Neither is judged (a gate that is never green
    on it); the reason names the outage. (A 20 s outage: the client surely starts and
    ends within it.) Twin: the bundled client retries past proxy-down-for-1s and passes."""
    path = tmp_path / "down-20s.yaml"
    path.write_text("name: down-20s\nabout: Down for 20 s.\nextends: proxy-down-for-1s\n"
                    "network:\n- toxic: down\n  for_s: 20\n")
    quitter = run_scenario(Scenario.from_path(path), CommandClient(zoo("never_retries")),
                           timeout_s=30)
    assert not quitter.timeline.attempts and quitter.client.exit_code != 0
    assert quitter.outcome == "not-exercised", quitter.verdict
    (why,) = quitter.why
    assert "refused connections for its first 20 s" in why and "never connected" in why, why
    correct = run("proxy-down-for-1s", [sys.executable, "-m", "harness.examples.client",
                                        "--host", "{host}", "--port", "{port}"])
    assert correct.passed and len(correct.timeline.messages) == 1, correct.verdict
