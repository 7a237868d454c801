"""The TLS checks, on timelines shaped as the TLS layer records them: ``tls`` events
with ``{"event": "handshake", "ok": ...}`` and commands marked ``{"tls": bool}``."""

from __future__ import annotations

from harness.verdicts import tls
from tests.verdicts.script import Script


def starttls(s: Script, a: int, t: float, *, ok: bool = True, error: str = "") -> None:
    s.reply(a, "220 ready", t - 0.0005)
    s.command(a, "EHLO c", t, tls=False).reply(a, "250-x\n250 STARTTLS")
    s.command(a, "STARTTLS", t + 0.001, tls=False).reply(a, "220 Ready to start TLS")
    s.tls(a, t + 0.002, event="handshake", ok=ok, error=error)


def mail_over(s: Script, a: int, t: float, *, secure: bool) -> None:
    s.command(a, "MAIL FROM:<a@example.org>", t, tls=secure).reply(a, "250 ok")
    s.command(a, "RCPT TO:<b@example.org>", t + 0.001, tls=secure).reply(a, "250 ok")


# -- refuses-bad-certificate -------------------------------------------------------------


def test_refusing_the_handshake_passes() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001, ok=False, error="certificate verify failed")
    s.close(a, "client-reset", 0.01)
    r = tls.refuses_bad_certificate(s.timeline())
    assert (r.level, r.status) == ("violation", "passed")


def test_quitting_after_an_accepted_handshake_passes() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001)
    s.command(a, "QUIT", 0.01, tls=True).reply(a, "221 bye")
    r = tls.refuses_bad_certificate(s.timeline())
    assert r.status == "passed"
    assert r.evidence["accepted_then_stopped"] == [1]


def test_sending_mail_over_a_bad_certificate_fails() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001)
    s.command(a, "EHLO c", 0.01, tls=True).reply(a, "250 ok")
    mail_over(s, a, 0.02, secure=True)
    r = tls.refuses_bad_certificate(s.timeline())
    assert r.status == "failed"
    assert r.evidence["after_handshake"][0] == "MAIL FROM:<a@example.org>"
    assert "RFC 8314 §5" in r.detail


def test_refuses_bad_certificate_is_skipped_without_a_handshake() -> None:
    s = Script()
    s.delivery(0.0)
    assert tls.refuses_bad_certificate(s.timeline()).status == "skipped"


# -- no-plaintext-fallback ---------------------------------------------------------------


def test_mail_in_cleartext_after_a_failed_handshake_fails() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001, ok=False, error="handshake failure")
    s.close(a, "client-close", 0.01)
    b = s.attempt(0.5)
    s.command(b, "EHLO c", 0.501, tls=False).reply(b, "250 ok")
    mail_over(s, b, 0.502, secure=False)
    r = tls.no_plaintext_fallback(s.timeline())
    assert (r.level, r.status) == ("violation", "failed")
    assert (r.evidence["tls_failed_on"], r.evidence["attempt"]) == (1, 2)
    assert "handshake failure" in r.detail


def test_a_refused_starttls_counts_as_a_tls_failure() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.reply(a, "220 ready", 0.0005).command(a, "EHLO c", 0.001).reply(a, "250 STARTTLS")
    s.command(a, "STARTTLS", 0.002).reply(a, "454 4.7.0 TLS not available")
    mail_over(s, a, 0.003, secure=False)  # no tls mark, no handshake: cleartext
    r = tls.no_plaintext_fallback(s.timeline())
    assert r.status == "failed"
    assert "454" in r.detail


def test_a_stripped_starttls_counts_as_a_tls_failure() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.fault(a, "strip-starttls", "ehlo", "send", 0.001)
    s.command(a, "AUTH PLAIN AGFiAGM=", 0.002, tls=False).reply(a, "235 ok")
    assert tls.no_plaintext_fallback(s.timeline()).status == "failed"


def test_retrying_over_tls_after_a_failure_passes() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001, ok=False)
    s.close(a, "client-close", 0.01)
    b = s.attempt(0.5)
    starttls(s, b, 0.501)
    s.command(b, "EHLO c", 0.51).reply(b, "250 ok")
    mail_over(s, b, 0.52, secure=True)
    assert tls.no_plaintext_fallback(s.timeline()).status == "passed"


def test_no_plaintext_fallback_is_skipped_when_tls_never_failed() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001)
    assert tls.no_plaintext_fallback(s.timeline()).status == "skipped"


# -- no-plaintext-auth -------------------------------------------------------------------


def test_auth_in_cleartext_fails_and_over_tls_passes() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.command(a, "AUTH PLAIN AGFiAGM=", 0.001, tls=False).reply(a, "235 ok")
    r = tls.no_plaintext_auth(s.timeline())
    assert (r.level, r.status) == ("violation", "failed")
    assert r.evidence["command"] == "AUTH PLAIN"  # never the credentials
    s2 = Script()
    b = s2.attempt(0.0)
    starttls(s2, b, 0.001)
    s2.command(b, "AUTH PLAIN AGFiAGM=", 0.01).reply(b, "235 ok")  # unmarked, after handshake
    assert tls.no_plaintext_auth(s2.timeline()).status == "passed"


# -- discards-injected-responses -----------------------------------------------------------


def injected(s: Script, a: int) -> None:
    s.reply(a, "220 ready", 0.0005).command(a, "EHLO c", 0.001, tls=False).reply(a, "250 STARTTLS")
    s.command(a, "STARTTLS", 0.002, tls=False).reply(a, "220 Ready to start TLS")
    s.fault(a, "inject-after-starttls", "starttls", "inject", 0.0021,
            lines=["250-x", "250 AUTH X-INJECTED"])
    s.tls(a, 0.003, event="handshake", ok=True)


def test_a_client_that_waits_for_its_post_tls_ehlo_reply_passes() -> None:
    s = Script()
    a = s.attempt(0.0)
    injected(s, a)
    s.command(a, "EHLO c", 0.004, tls=True).reply(a, "250 AUTH PLAIN", 0.005)
    s.command(a, "AUTH PLAIN AGFiAGM=", 0.006, tls=True).reply(a, "235 ok")
    r = tls.discards_injected_responses(s.timeline())
    assert (r.level, r.status) == ("violation", "passed")


def test_a_client_that_takes_the_injected_lines_as_its_ehlo_reply_fails() -> None:
    s = Script()
    a = s.attempt(0.0)
    injected(s, a)
    s.command(a, "EHLO c", 0.004, tls=True)
    s.command(a, "MAIL FROM:<a@example.org>", 0.0041, tls=True)  # before the EHLO reply
    s.reply(a, "250 AUTH PLAIN", 0.005).reply(a, "250 ok")
    r = tls.discards_injected_responses(s.timeline())
    assert r.status == "failed"
    assert r.evidence["sent_early"] == "MAIL FROM:<a@example.org>"


def test_a_client_that_uses_an_injected_capability_fails() -> None:
    s = Script()
    a = s.attempt(0.0)
    injected(s, a)
    s.command(a, "EHLO c", 0.004, tls=True).reply(a, "250 AUTH PLAIN", 0.005)
    s.command(a, "AUTH X-INJECTED", 0.006, tls=True).reply(a, "504 unknown")
    r = tls.discards_injected_responses(s.timeline())
    assert r.status == "failed"
    assert r.evidence["used"] == "AUTH X-INJECTED"


def test_pipelined_mail_and_rcpt_are_not_a_desync() -> None:
    s = Script()
    a = s.attempt(0.0)
    injected(s, a)
    s.command(a, "EHLO c", 0.004, tls=True).reply(a, "250 PIPELINING", 0.005)
    s.command(a, "MAIL FROM:<a@example.org>", 0.006, tls=True)
    s.command(a, "RCPT TO:<b@example.org>", 0.0061, tls=True)
    s.reply(a, "250 ok", 0.007).reply(a, "250 ok")
    assert tls.discards_injected_responses(s.timeline()).status == "passed"


def test_the_injection_may_come_as_a_tls_event() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.command(a, "STARTTLS", 0.001).reply(a, "220 go")
    s.tls(a, 0.0011, text="250 AUTH X-INJECTED", event="injected")
    s.tls(a, 0.002, event="handshake", ok=True)
    s.command(a, "AUTH X-INJECTED", 0.003).reply(a, "504 no")
    assert tls.discards_injected_responses(s.timeline()).status == "failed"


def test_discards_injected_responses_is_skipped_without_an_injection() -> None:
    s = Script()
    s.delivery(0.0)
    assert tls.discards_injected_responses(s.timeline()).status == "skipped"


# -- re-ehlo-after-starttls ----------------------------------------------------------------


def test_ehlo_first_after_starttls_passes_and_mail_first_fails() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001)
    s.command(a, "EHLO c", 0.01, tls=True).reply(a, "250 ok")
    r = tls.re_ehlo_after_starttls(s.timeline())
    assert (r.level, r.status) == ("deviation", "passed")
    s2 = Script()
    b = s2.attempt(0.0)
    starttls(s2, b, 0.001)
    mail_over(s2, b, 0.01, secure=True)
    r2 = tls.re_ehlo_after_starttls(s2.timeline())
    assert r2.status == "failed"
    assert r2.evidence["first_command"] == "MAIL FROM:<a@example.org>"
    assert "RFC 3207 §4.2" in r2.detail


def test_re_ehlo_is_skipped_without_a_starttls_handshake() -> None:
    s = Script()
    s.delivery(0.0)
    assert tls.re_ehlo_after_starttls(s.timeline()).status == "skipped"


# -- nothing to judge, or judged at the documented level ----------------------------------


def test_a_plaintext_client_on_implicit_tls_refused_nothing() -> None:
    """It never sent a ClientHello: the failed handshake is no refusal, and no TLS
    failed for it to fall back from."""
    s = Script()
    a = s.attempt(0.0)
    s.tls(a, 0.01, event="handshake", ok=False, outcome="plaintext", client_hello=False,
          first_bytes="EHLO client")
    s.close(a, "tls-failed", 0.02)
    r = tls.refuses_bad_certificate(s.timeline())
    assert r.status == "skipped"
    assert r.detail == ("No ClientHello arrived: the client never started TLS; it sent"
                        " 'EHLO client' in plaintext.")
    assert tls.no_plaintext_fallback(s.timeline()).status == "skipped"


def test_a_client_that_never_issues_starttls_is_told_so() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.tls(a, 0.001, event="capabilities", starttls_offered=True)
    mail_over(s, a, 0.002, secure=False)
    r = tls.refuses_bad_certificate(s.timeline())
    assert r.status == "skipped"
    assert "never issued STARTTLS" in r.detail
    assert "never issued STARTTLS" in tls.discards_injected_responses(s.timeline()).detail


def test_no_plaintext_auth_is_skipped_when_no_auth_was_sent() -> None:
    s = Script()
    s.delivery(0.0)
    r = tls.no_plaintext_auth(s.timeline())
    assert (r.status, r.detail) == ("skipped", "No AUTH was sent: nothing to judge.")


def accepted(certificate: str, version: str = "TLSv1.3") -> Script:
    s = Script()
    a = s.attempt(0.0)
    s.tls(a, 0.002, event="handshake", ok=True, certificate=certificate, version=version)
    mail_over(s, a, 0.01, secure=True)
    return s


def test_accepting_weak_cryptography_is_a_deviation_that_names_the_weakness() -> None:
    r = tls.refuses_bad_certificate(accepted("weak-key").timeline())
    assert (r.level, r.status) == ("deviation", "failed")
    assert "RSA-1024" in r.detail
    old = tls.refuses_bad_certificate(accepted("tls1.0-only", "TLSv1.1").timeline())
    assert old.level == "deviation"
    assert "only TLS 1.0 and 1.1, negotiated TLSv1.1" in old.detail
    assert "SHA-1" in tls.refuses_bad_certificate(accepted("sha1-signature").timeline()).detail
    expired = tls.refuses_bad_certificate(accepted("expired").timeline())
    assert expired.level == "violation"


def test_an_opportunistic_client_accepting_a_bad_certificate_is_advisory() -> None:
    r = tls.refuses_bad_certificate(accepted("expired").timeline(), opportunistic=True)
    assert (r.level, r.status) == ("advisory", "failed")
    assert r.evidence["opportunistic"] is True and "RFC 7435" in r.detail


# -- waits-for-ehlo-after-starttls -------------------------------------------------------


def test_waiting_out_an_ignored_ehlo_passes_and_going_on_fails() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001)
    s.command(a, "EHLO c", 0.01, tls=True)  # never answered
    s.command(a, "HELO c", 0.5, tls=True)  # greeting again uses no capability
    s.command(a, "QUIT", 1.0, tls=True)
    s.close(a, "client-close", 0.6)
    r = tls.waits_for_ehlo_after_starttls(s.timeline())
    assert (r.level, r.status) == ("violation", "passed")
    assert r.evidence["unanswered_attempts"] == [1]

    s2 = Script()
    b = s2.attempt(0.0)
    starttls(s2, b, 0.001)
    s2.command(b, "EHLO c", 0.01, tls=True)
    mail_over(s2, b, 0.1, secure=True)
    r2 = tls.waits_for_ehlo_after_starttls(s2.timeline())
    assert r2.status == "failed"
    assert r2.evidence["sent_unanswered"] == ["MAIL FROM:<a@example.org>"]
    assert "RFC 3207 §4.2" in r2.detail and "capabilities learnt before TLS" in r2.detail


def test_waits_for_ehlo_is_skipped_when_every_ehlo_after_tls_was_answered() -> None:
    s = Script()
    a = s.attempt(0.0)
    starttls(s, a, 0.001)
    s.command(a, "EHLO c", 0.01, tls=True).reply(a, "250 ok")
    mail_over(s, a, 0.02, secure=True)
    r = tls.waits_for_ehlo_after_starttls(s.timeline())
    assert r.status == "skipped" and "No EHLO after STARTTLS went unanswered" in r.detail
    s2 = Script()
    s2.delivery(0.0)
    assert tls.waits_for_ehlo_after_starttls(s2.timeline()).status == "skipped"
