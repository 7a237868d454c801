"""Safe outcomes pass the TLS and STARTTLS scenarios; unsafe ones fail them.

Real clients, whole scenarios: msmtp aborts when plaintext follows the 220 to STARTTLS
(its defence against CVE-2011-0411) and smtplib discards it and delivers over TLS; both
pass ``starttls-injection``. A verifying swaks refuses every bad certificate and passes,
a non-verifying one fails, and passes only where the scenario declares the client
opportunistic, with the acceptance reported as advisory. Controls: each client delivers
on the scenario's fault-free twin.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from harness.clients import CommandClient
from harness.model import Scenario, load_scenario
from harness.outcome import RunResult
from harness.run import run_scenario

MESSAGE = "Subject: safe outcomes\r\nMessage-ID: <safe@harness.test>\r\n\r\nhello\r\n"
PYTHON_CLIENT = [sys.executable, "-m", "harness.examples.client", "--host", "{host}", "--port",
                 "{port}", "--tls", "{tls}", "--cafile", "{cafile}", "--timeout", "5"]

needs_msmtp = pytest.mark.skipif(shutil.which("msmtp") is None,
                                 reason="msmtp is not installed (scripts/test.sh installs it)")
needs_swaks = pytest.mark.skipif(shutil.which("swaks") is None,
                                 reason="swaks is not installed (scripts/test.sh installs it)")


def msmtp(*options: str) -> list[str]:
    return ["sh", "-c", f"printf '{MESSAGE}' | msmtp --host={{host}} --port={{port}} --tls=on"
            " --tls-starttls=on --tls-trust-file={cafile} --auth=off --from=a@harness.test"
            f" {' '.join(options)} b@harness.test"]


def swaks(*options: str) -> list[str]:
    return ["swaks", "--server", "{host}:{port}", "--timeout", "10", "--from", "a@harness.test",
            "--to", "b@harness.test", *options]


def run(scenario: str | Scenario, command: list[str]) -> RunResult:
    chosen = load_scenario(scenario) if isinstance(scenario, str) else scenario
    return run_scenario(chosen, CommandClient(command), timeout_s=30)


def statuses(result: RunResult) -> dict[str, tuple[str, str]]:
    return {r.name: (r.level, r.status) for r in result.verdict.results}


@needs_msmtp
def test_msmtp_aborting_on_injected_plaintext_passes_starttls_injection() -> None:
    result = run("starttls-injection", msmtp())
    assert result.passed, result.verdict
    assert result.client.exit_code != 0 and not result.timeline.messages
    injected = result.verdict.result("discards-injected-responses")
    assert injected.status == "passed" and "without using them" in injected.detail
    control = run("cert-valid-starttls", msmtp())
    assert control.passed and len(control.timeline.messages) == 1, control.verdict


def test_smtplib_discarding_injected_plaintext_passes_starttls_injection() -> None:
    result = run("starttls-injection", PYTHON_CLIENT)
    assert result.passed, result.verdict
    assert len(result.timeline.messages) == 1
    assert result.verdict.result("discards-injected-responses").status == "passed"
    assert result.verdict.result("re-ehlo-after-starttls").status == "passed"


@needs_msmtp
@pytest.mark.parametrize("name", ["starttls-454-once", "starttls-handshake-garbage",
                                  "starttls-502", "starttls-stripped", "cert-expired-starttls"])
def test_msmtp_stopping_is_safe_on_every_starttls_fault(name: str) -> None:
    """msmtp never retries: it stops at the first TLS failure and says so, which each
    STARTTLS scenario accepts."""
    result = run(name, msmtp())
    assert result.passed, result.verdict
    assert not result.timeline.messages and result.client.exit_code != 0


@needs_swaks
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_swaks_refusing_passes_and_accepting_fails_a_bad_certificate(mode: str) -> None:
    name = f"cert-expired-{mode}"
    tls = "--tls" if mode == "starttls" else "--tlsc"
    verifying = run(name, swaks(tls, "--tls-verify", "--tls-ca-path", "{cafile}"))
    assert verifying.passed, verifying.verdict
    accepting = run(name, swaks(tls))
    assert not accepting.passed
    assert statuses(accepting)["refuses-bad-certificate"] == ("violation", "failed")
    control = run(f"cert-valid-{mode}", swaks(tls, "--tls-verify", "--tls-ca-path", "{cafile}"))
    assert control.passed, control.verdict


@needs_swaks
def test_an_opportunistic_client_accepting_a_bad_certificate_is_advisory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "opportunistic.yaml"
    path.write_text("name: cert-expired-opportunistic\nabout: An MTA in may mode.\n"
                    "extends: cert-expired-starttls\nexpect:\n  opportunistic: true\n")
    result = run(Scenario.from_path(path), swaks("--tls"))
    assert result.passed, result.verdict
    got = statuses(result)
    assert got["refuses-bad-certificate"] == ("advisory", "failed")
    assert got["delivered"] == ("advisory", "failed")
    assert result.verdict.result("refuses-bad-certificate").evidence["certificate"] == "expired"


PERMISSIVE = [sys.executable, "-c", (
    "import smtplib, sys\n"
    "from harness.tls import permissive_client_context\n"
    "smtp = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=10)\n"
    "smtp.starttls(context=permissive_client_context())\n"
    "smtp.sendmail('a@harness.test', ['b@harness.test'], 'Subject: weak\\r\\n\\r\\nhi\\r\\n')\n"
    "smtp.quit()\n"), "{host}", "{port}"]


@pytest.mark.parametrize(("name", "named"), [
    ("weak-key", "RSA-1024"), ("sha1-signature", "SHA-1"), ("tls1.0-only", "TLS 1.0 and 1.1"),
])
def test_accepting_weak_cryptography_is_the_documented_deviation(name: str, named: str) -> None:
    """docs/certificates.md: accepting weak cryptography is a deviation, not a violation;
    the detail names what was weak. An expired certificate stays a violation."""
    result = run(f"cert-{name}-starttls", PERMISSIVE)
    got = result.verdict.result("refuses-bad-certificate")
    assert (got.level, got.status) == ("deviation", "failed"), got
    assert named in got.detail
    expired = run("cert-expired-starttls", PERMISSIVE).verdict.result("refuses-bad-certificate")
    assert (expired.level, expired.status) == ("violation", "failed")


STARTTLS_ANYWAY = [sys.executable, "-c", (
    "import smtplib, ssl, sys\n"
    "smtp = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=10)\n"
    "if smtp.ehlo()[0] // 100 != 2:\n"
    "    smtp.helo()\n"
    "smtp.esmtp_features['starttls'] = ''  # TLS is required: try it, offered or not\n"
    "smtp.starttls(context=ssl.create_default_context(cafile=sys.argv[3]))\n"
    "smtp.sendmail('a@harness.test', ['b@harness.test'], 'Subject: tls\\r\\n\\r\\nhi\\r\\n')\n"
    "smtp.quit()\n"), "{host}", "{port}", "{cafile}"]


def test_starttls_without_ehlo_is_safe_and_mail_in_clear_is_not() -> None:
    """no-esmtp-starttls (RFC 3207 §4, RFC 8314 §5): EHLO refused, so no STARTTLS is
    offered. Issuing STARTTLS anyway and sending over the verified session (as PHPMailer
    does when TLS is required) passes, as does stopping; sending MAIL in clear after HELO
    fails no-plaintext-fallback."""
    anyway = run("no-esmtp-starttls", STARTTLS_ANYWAY)
    assert anyway.passed, anyway.verdict
    assert len(anyway.timeline.messages) == 1 and anyway.client.exit_code == 0
    fallback = anyway.verdict.result("no-plaintext-fallback")
    assert fallback.status == "passed" and "secured TLS after all" in fallback.detail, fallback
    stopping = run("no-esmtp-starttls", PYTHON_CLIENT)
    assert stopping.passed and not stopping.timeline.messages, stopping.verdict
    clear = run("no-esmtp-starttls", [*zoo_command("plaintext_fallback"), "--tls", "{tls}",
                                      "--cafile", "{cafile}"])
    got = clear.verdict.result("no-plaintext-fallback")
    assert not clear.passed and (got.level, got.status) == ("violation", "failed"), got
    assert "EHLO answered '500 5.5.1" in got.detail and "MAIL" in got.detail.upper()
    control = run("cert-valid-starttls", STARTTLS_ANYWAY)  # the twin: EHLO answered
    assert control.passed and len(control.timeline.messages) == 1, control.verdict


@pytest.mark.slow
def test_a_retry_after_a_554_greeting_is_a_deviation_an_mta_may_relax(tmp_path: Path) -> None:
    """RFC 5321 §4.2.1 SHOULD NOT: a client that connects again after a 554 greeting
    fails banner-554 at the deviation level; a scenario for an MTA that does so on purpose
    (Postfix's smtp_skip_5xx_greeting) relaxes it to advisory. Control: the correct client
    stops at once and passes."""
    retrying = zoo_command("retries_after_550")
    result = run("banner-554", retrying)
    assert len(result.timeline.attempts) > 1 and not result.passed
    assert {(r.name, r.level) for r in result.verdict.failures} == {
        ("no-retry-after-permanent", "deviation")}
    path = tmp_path / "banner-554-mta.yaml"
    path.write_text("name: banner-554-mta\nabout: An MTA trying its next MX on purpose.\n"
                    "extends: banner-554\nexpect:\n  relax: [no-retry-after-permanent]\n")
    relaxed = run(Scenario.from_path(path), retrying)
    assert relaxed.passed, relaxed.verdict
    assert statuses(relaxed)["no-retry-after-permanent"] == ("advisory", "failed")
    correct = run("banner-554", zoo_command("smtplib_backoff"))
    assert correct.passed and len(correct.timeline.attempts) == 1, correct.verdict


def zoo_command(name: str) -> list[str]:
    return [sys.executable, "-m", f"tests.clients.{name}", "--host", "{host}", "--port", "{port}"]
