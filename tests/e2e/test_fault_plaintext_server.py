"""``handshake-failure: {plaintext: true}``: a plaintext server where TLS belongs (T13).

On the implicit-TLS port the server greets in clear instead of answering the ClientHello,
on every attempt it is planned for, so a client that drops TLS and tries again in clear
really delivers in clear, where the verdict sees it. Attempt 2 on the same server, with
the fault planned for attempt 1 only, is the no-fault control twin.
"""

from __future__ import annotations

import smtplib
import ssl

import pytest

from harness import FakeSMTPServer, faults
from harness.clients import Target
from harness.engine import Engine
from harness.errors import InvalidFaultPlan
from harness.model import Scenario, load_scenario
from harness.plan import fault_item
from harness.tls import certificate
from tests.e2e import tls_clients
from tests.e2e.conftest import ServerFactory, settled

MESSAGE = "Subject: t13\r\n\r\nhello\r\n"


def plaintext_server(attempts: object = "all") -> faults.HandshakeFailure:
    return faults.HandshakeFailure(plaintext=True, attempts=attempts)  # type: ignore[arg-type]


def send_plain(server: FakeSMTPServer) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.sendmail("a@harness.test", ["b@harness.test"], MESSAGE)


def handshakes(server: FakeSMTPServer, attempt: int) -> list[dict[str, object]]:
    return [dict(e.data) for e in server.timeline.attempt(attempt).of_kind("tls")
            if e.data.get("event") == "handshake"]


def test_a_tls_client_meets_a_greeting_in_clear_then_the_twin_delivers(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([plaintext_server(attempts=1)], tls="implicit")
    context = tls_clients.verifying(str(certificate("valid").cafile))
    with pytest.raises(ssl.SSLError):
        tls_clients.send_implicit(server.host, server.port, context)
    settled(server)
    (failed,) = handshakes(server, 1)
    assert failed["ok"] is False and failed["outcome"] == "server-plaintext"
    assert failed["client_hello"] is True  # it sent a ClientHello, and met "220" in clear
    assert [r.text for r in server.timeline.attempt(1).of_kind("reply")] == [
        "220 localhost ESMTP smtp-fault-harness"]
    assert server.timeline.attempt(1).of_kind("command") == []  # TLS bytes are no commands

    tls_clients.send_implicit(server.host, server.port, context)  # the control twin
    settled(server, attempts=2)
    (secured,) = handshakes(server, 2)
    assert secured["ok"] is True
    assert [m.attempt for m in server.messages] == [2]


def test_a_client_in_clear_is_served_in_clear(smtp_server: ServerFactory) -> None:
    server = smtp_server([plaintext_server()], tls="implicit")
    send_plain(server)
    settled(server)
    (failed,) = handshakes(server, 1)
    assert failed["client_hello"] is False and str(failed["first_bytes"]).startswith("ehlo")
    mail = next(c for c in server.timeline.attempt(1).of_kind("command")
                if c.text.upper().startswith("MAIL"))
    assert mail.data["tls"] is False
    assert [m.attempt for m in server.messages] == [1]


def test_after_starttls_the_server_reads_on_in_clear(smtp_server: ServerFactory) -> None:
    server = smtp_server([plaintext_server()], tls="starttls")
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        assert client.docmd("STARTTLS")[0] == 220
        assert client.docmd("NOOP")[0] == 250  # no handshake: the session goes on in clear
    settled(server)
    (failed,) = handshakes(server, 1)
    assert failed["client_hello"] is False and failed["first_bytes"] == "NOOP\\x0d\\x0a"


def test_data_and_plaintext_exclude_each_other() -> None:
    with pytest.raises(InvalidFaultPlan, match="data and plaintext exclude each other"):
        faults.HandshakeFailure(plaintext=True, data=b"x")


def test_its_scenario_item_round_trips() -> None:
    fault = plaintext_server(attempts=[1])
    item = fault_item(fault)
    assert item == {"attempts": 1, "handshake-failure": True, "plaintext": True}
    (loaded,) = Scenario.from_dict({"name": "t13", "faults": [item]}).fault_schedule().faults
    assert loaded == fault


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(settle_s=2.0) as running:
        yield running


def never_tries_tls(target: Target) -> None:
    """Told to use implicit TLS, it speaks plaintext all the same, and delivers."""
    with smtplib.SMTP(target.host, target.port, timeout=5) as client:
        client.sendmail("a@harness.test", ["b@harness.test"], MESSAGE)


def test_a_client_that_never_tried_tls_is_not_exercised(engine: Engine) -> None:
    with engine.run(load_scenario("implicit-plaintext-server")) as run:
        run.call(never_tries_tls, time_limit_s=6.0)
    assert run.result.outcome == "not-exercised"
    (why,) = run.result.why
    assert why.startswith("no TLS ClientHello arrived on the implicit-TLS port: the client"
                          " spoke plaintext ('ehlo [127.0.0.1]"), why
