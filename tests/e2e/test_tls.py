"""TLS end to end: every certificate variant on both TLS paths, with real clients that
verify and clients that deliberately do not, and the STARTTLS attacks.

What a verifying client must do with each variant is the catalogue's own expectation
(``harness.tls``, docs/certificates.md); the timeline must show what happened either way.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Callable

import aiosmtplib
import pytest

from harness import FakeSMTPServer, Timeline, faults
from harness.tls import CertificateHandling, certificate, names, permissive_client_context
from harness.verdicts import tls as verdicts
from tests.e2e import tls_clients
from tests.e2e.conftest import ServerFactory, settled

PATHS = ("starttls", "implicit")


def handshake_events(timeline: Timeline, attempt: int = 1) -> list[dict[str, object]]:
    return [dict(e.data) for e in timeline.attempt(attempt).of_kind("tls")
            if e.data["event"] == "handshake"]


def smtplib_send(path: str, server: FakeSMTPServer, context: ssl.SSLContext) -> Exception | None:
    send = tls_clients.send_implicit if path == "implicit" else tls_clients.send_starttls
    try:
        send(server.host, server.port, context)
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", names())
def test_verifying_smtplib_against_every_variant(
    smtp_server: ServerFactory, name: str, path: str
) -> None:
    variant = certificate(name)
    server = smtp_server(tls=path, certificate=name)
    error = smtplib_send(path, server, tls_clients.verifying(str(variant.cafile)))
    timeline = settled(server)
    (handshake,) = handshake_events(timeline)
    assert handshake["certificate"] == name
    if variant.handling is CertificateHandling.ACCEPT:
        assert error is None
        assert handshake["ok"] is True and str(handshake["version"]).startswith("TLS")
        assert [m.attempt for m in timeline.messages] == [1]
        commands = timeline.attempt(1).of_kind("command")
        mail = next(c for c in commands if c.text.upper().startswith("MAIL"))
        assert mail.data["tls"] is True
    else:
        assert isinstance(error, ssl.SSLError)
        assert handshake["ok"] is False
        if name == "tls1.0-only":  # no protocol in common: refused before any certificate
            assert handshake["outcome"] == "version-mismatch"
        else:  # smtplib sends an alert that says why it refused
            assert handshake["outcome"] == "client-rejected-certificate"
            assert str(handshake["alert"]).endswith(("_CA", "_CERTIFICATE", "_EXPIRED",
                                                     "_UNKNOWN"))
        assert timeline.attempt(1).closed_by == "tls-failed"
        assert timeline.messages == ()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", names())
def test_non_verifying_smtplib_accepts_every_variant(
    smtp_server: ServerFactory, name: str, path: str
) -> None:
    """The deliberately broken client: no verification, legacy protocols allowed."""
    server = smtp_server(tls=path, certificate=name)
    assert smtplib_send(path, server, permissive_client_context()) is None
    timeline = settled(server)
    assert handshake_events(timeline)[0]["ok"] is True
    assert [m.attempt for m in timeline.messages] == [1]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", ["valid", "valid-intermediate", "expired", "wrong-host"])
@pytest.mark.parametrize("verify", [True, False], ids=["verifying", "not-verifying"])
def test_aiosmtplib_both_ways(name: str, path: str, verify: bool) -> None:
    variant = certificate(name)
    context = tls_clients.verifying(str(variant.cafile)) if verify else permissive_client_context()

    async def scenario() -> tuple[Exception | None, FakeSMTPServer]:
        async with FakeSMTPServer(tls=path, certificate=name) as server:
            client = aiosmtplib.SMTP(
                hostname=server.host, port=server.port, timeout=5, tls_context=context,
                use_tls=path == "implicit", start_tls=path == "starttls",
            )
            try:
                async with client:
                    await client.sendmail(tls_clients.SENDER, [tls_clients.RECIPIENT],
                                          tls_clients.MESSAGE)
            except (aiosmtplib.SMTPException, ssl.SSLError) as error:
                return error, server
            return None, server

    error, server = asyncio.run(scenario())
    accepted = not verify or variant.handling is CertificateHandling.ACCEPT
    assert (error is None) == accepted
    # aiosmtplib may hang up without an alert; the handshake is recorded as failed either way
    assert handshake_events(server.timeline)[0]["ok"] is accepted
    assert len(server.timeline.messages) == int(accepted)


def test_certificate_can_differ_per_attempt(smtp_server: ServerFactory) -> None:
    server = smtp_server(tls="implicit", certificate={"1": "expired", "2+": "valid"})
    context = tls_clients.verifying(str(certificate("valid").cafile))
    assert isinstance(smtplib_send("implicit", server, context), ssl.SSLError)
    assert smtplib_send("implicit", server, context) is None  # control twin: attempt 2
    timeline = settled(server, attempts=2)
    assert [h["certificate"] for h in handshake_events(timeline, 1)] == ["expired"]
    assert [h["certificate"] for h in handshake_events(timeline, 2)] == ["valid"]


def test_starttls_required_refuses_mail_before_tls(smtp_server: ServerFactory) -> None:
    server = smtp_server(tls="starttls", starttls_required=True)
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert client.mail(tls_clients.SENDER)[0] == 530
    context = tls_clients.verifying(str(certificate("valid").cafile))
    assert smtplib_send("starttls", server, context) is None  # control: with TLS it works


# -- STARTTLS attacks ------------------------------------------------------------------

Client = Callable[[str, int, ssl.SSLContext], object]
VALID_CA = str(certificate("valid").cafile)


def run_client(server: FakeSMTPServer, client: Client) -> Exception | None:
    try:
        client(server.host, server.port, tls_clients.verifying(VALID_CA))
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


def cleartext_commands(timeline: Timeline) -> list[str]:
    return [e.text.split(" ")[0].upper() for a in timeline.attempts for e in a.of_kind("command")
            if not e.data["tls"]]


@pytest.mark.parametrize(
    "fault",
    [
        faults.StripStartTLS(),
        faults.Reply(at="starttls", reply="454 4.7.0 TLS not available due to temporary reason"),
        faults.Reply(at="starttls", reply="502 5.5.1 Command not implemented"),
        faults.Reply(at="starttls", reply="354 do something else"),
        faults.HandshakeFailure(),
    ],
    ids=["strip", "454", "502", "354", "garbage-handshake"],
)
def test_starttls_failure_correct_client_stops_broken_one_falls_back(
    smtp_server: ServerFactory, fault: faults.Fault
) -> None:
    correct = smtp_server([fault], tls="starttls")
    assert run_client(correct, tls_clients.send_starttls) is not None
    assert not {"MAIL", "AUTH", "RCPT"} & set(cleartext_commands(settled(correct)))
    assert correct.messages == ()

    broken = smtp_server([fault], tls="starttls", auth_require_tls=False)
    assert run_client(broken, tls_clients.send_opportunistic) is None
    timeline = settled(broken, attempts=len(broken.timeline.attempts) or 1)
    assert {"MAIL", "AUTH"} <= set(cleartext_commands(timeline))  # the downgrade, recorded
    assert len(timeline.messages) == 1

    control = smtp_server(tls="starttls")  # no fault: the correct client delivers over TLS
    assert run_client(control, tls_clients.send_starttls) is None
    assert "MAIL" not in cleartext_commands(settled(control))


def test_garbage_handshake_is_recorded_as_a_failed_handshake(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.HandshakeFailure()], tls="starttls")
    assert isinstance(run_client(server, tls_clients.send_starttls), ssl.SSLError)
    attempt = settled(server).attempt(1)
    assert attempt.faults[0].data["phase"] == "tls"
    assert attempt.closed_by == "server-close"


def test_injected_reply_lines_are_recorded_and_caught(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.InjectAfterStartTLS()], tls="starttls")
    believed = tls_clients.send_trusting_buffered_replies(server.host, server.port,
                                                          tls_clients.verifying(VALID_CA))
    assert believed == list(faults.InjectAfterStartTLS().lines)  # the bug, reproduced
    attempt = settled(server).attempt(1)
    (injected,) = [e for e in attempt.of_kind("tls") if e.data["event"] == "injected"]
    assert injected.data["lines"] == list(faults.InjectAfterStartTLS().lines)
    post_tls = [e.text for e in attempt.of_kind("command") if e.data["tls"]]
    assert post_tls[:2] == ["EHLO broken.test", "AUTH X-INJECTED"]

    correct = smtp_server([faults.InjectAfterStartTLS()], tls="starttls")
    assert run_client(correct, tls_clients.send_starttls) is None  # smtplib drops the buffer
    assert not any(e.text.startswith("AUTH") for e in settled(correct).attempt(1).events)


def test_auth_advertised_before_tls_catches_early_login(smtp_server: ServerFactory) -> None:
    fault = faults.Capabilities(add=["AUTH PLAIN LOGIN"], when="before-tls")
    broken = smtp_server([fault], tls="starttls", auth_require_tls=False)
    run_client(broken, tls_clients.send_auth_before_tls)
    assert "AUTH" in cleartext_commands(settled(broken))

    correct = smtp_server([fault], tls="starttls", auth_require_tls=False)
    context = tls_clients.verifying(VALID_CA)
    tls_clients.send_starttls(correct.host, correct.port, context, login=True)
    timeline = settled(correct)
    assert "AUTH" not in cleartext_commands(timeline)
    assert any(e.text.startswith("AUTH") and e.data["tls"] for e in timeline.attempt(1).events
               if e.kind == "command")


def test_capabilities_differ_before_and_after_tls(smtp_server: ServerFactory) -> None:
    server = smtp_server(
        [faults.Capabilities(remove=["SIZE"], when="before-tls"),
         faults.Capabilities(add=["SIZE 10240000"], remove=["SIZE"], when="after-tls")],
        tls="starttls",
    )
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("size")
        client.starttls(context=tls_clients.verifying(VALID_CA))
        client.ehlo()
        assert client.esmtp_features["size"] == "10240000"  # the post-TLS list is used
    offers = [e.data for e in settled(server).attempt(1).of_kind("tls")
              if e.data["event"] == "capabilities"]
    assert [o["after_tls"] for o in offers] == [False, True]


def test_second_starttls_after_tls_is_refused_and_recorded(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.Capabilities(add=["STARTTLS"], when="after-tls")],
                         tls="starttls")
    assert run_client(server, tls_clients.send_restarting_tls) is None
    attempt = settled(server).attempt(1)
    starttls = [e for e in attempt.of_kind("command") if e.text.upper() == "STARTTLS"]
    assert [s.data["tls"] for s in starttls] == [False, True]
    assert 503 in attempt.reply_codes

    control = smtp_server([faults.Capabilities(add=["STARTTLS"], when="after-tls")],
                          tls="starttls")
    assert run_client(control, tls_clients.send_starttls) is None
    assert [e.text for e in settled(control).attempt(1).of_kind("command")
            if e.text.upper() == "STARTTLS"] == ["STARTTLS"]


def test_bytes_pipelined_after_starttls_are_counted(smtp_server: ServerFactory) -> None:
    import socket

    server = smtp_server(tls="starttls")
    with socket.create_connection((server.host, server.port), timeout=5) as raw:
        stream = raw.makefile("rb")
        stream.readline()
        raw.sendall(b"EHLO x\r\n")
        tls_clients.read_reply(stream)
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<early@harness.test>\r\n")  # pipelined: a bug
        assert stream.readline().startswith(b"220")
        stream.close()
    start = next(e for e in settled(server).attempt(1).of_kind("tls")
                 if e.data["event"] == "handshake-start")
    assert start.data["pipelined_bytes"] == len(b"MAIL FROM:<early@harness.test>\r\n")


# -- the TLS checks catch each broken client and pass the correct one -----------------


def send_without_re_ehlo(host: str, port: int, context: ssl.SSLContext) -> None:
    """Broken: keeps the pre-TLS capabilities and goes straight to MAIL after STARTTLS."""
    with smtplib.SMTP(host, port, timeout=5) as client:
        client.starttls(context=context)
        client.docmd("MAIL FROM:<sender@harness.test>")


def send_not_verifying(host: str, port: int, context: ssl.SSLContext) -> None:
    tls_clients.send_starttls(host, port, permissive_client_context())


def send_logging_in_over_tls(host: str, port: int, context: ssl.SSLContext) -> None:
    """The correct twin for no-plaintext-auth sends AUTH, over TLS: a client that sends
    none has nothing to judge (the check is skipped)."""
    tls_clients.send_starttls(host, port, context, login=True)


def send_trusting(host: str, port: int, context: ssl.SSLContext) -> None:
    tls_clients.send_trusting_buffered_replies(host, port, context)


CHECKS = [
    # check, server set-up, broken client, correct client
    (verdicts.refuses_bad_certificate, {"certificate": "expired"}, (),
     send_not_verifying, tls_clients.send_starttls),
    (verdicts.no_plaintext_fallback, {"auth_require_tls": False}, (faults.HandshakeFailure(),),
     tls_clients.send_opportunistic, tls_clients.send_starttls),
    (verdicts.no_plaintext_auth, {"auth_require_tls": False},
     (faults.Capabilities(add=["AUTH PLAIN LOGIN"], when="before-tls"),),
     tls_clients.send_auth_before_tls, send_logging_in_over_tls),
    (verdicts.discards_injected_responses, {}, (faults.InjectAfterStartTLS(),),
     send_trusting, tls_clients.send_starttls),
    (verdicts.re_ehlo_after_starttls, {}, (), send_without_re_ehlo, tls_clients.send_starttls),
]


@pytest.mark.parametrize(("check", "setup", "plan", "broken", "correct"), CHECKS,
                         ids=[c[0].__name__ for c in CHECKS])
@pytest.mark.parametrize("client", ["broken", "correct"])
def test_tls_check_catches_the_broken_client_and_passes_the_correct_one(
    smtp_server: ServerFactory, check: Callable[[Timeline], verdicts.Result],
    setup: dict[str, object], plan: tuple[faults.Fault, ...], broken: Client, correct: Client,
    client: str,
) -> None:
    server = smtp_server(list(plan), tls="starttls", **setup)
    run_client(server, broken if client == "broken" else correct)
    result = check(settled(server, attempts=len(server.timeline.attempts) or 1))
    assert result.status == ("failed" if client == "broken" else "passed"), result.detail


def test_starttls_sent_anyway_after_stripping_is_refused(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.StripStartTLS(attempts=1)], tls="starttls")
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        assert client.docmd("STARTTLS")[0] == 502  # the attacker does not let it through
    assert run_client(server, tls_clients.send_starttls) is None  # control twin: attempt 2
