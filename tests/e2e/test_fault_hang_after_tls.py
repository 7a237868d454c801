"""``hang`` with ``when``: ignore the EHLO sent over TLS and only that one (T07).

A fault at ``ehlo`` fires for the EHLO before STARTTLS and the one after it alike;
``when: after-tls`` tells them apart. The client's EHLO before TLS is answered, the one
after the handshake never is, and only the client's own timeout ends its wait. Attempt 2
on the same server, with the fault planned for attempt 1 only, is the no-fault control
twin.
"""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest

from harness import FakeSMTPServer, faults
from harness.clients import Target
from harness.engine import Engine
from harness.errors import InvalidFaultPlan
from harness.model import Scenario, load_scenario
from harness.plan import fault_item
from harness.tls import certificate
from harness.verdicts import tls as verdicts
from tests.e2e.conftest import ServerFactory, settled

CONTEXT = ssl.create_default_context(cafile=str(certificate("valid").cafile))


def send(server: FakeSMTPServer, timeout: float) -> Exception | None:
    try:
        with smtplib.SMTP(server.host, server.port, timeout=timeout) as client:
            client.ehlo()
            client.starttls(context=CONTEXT)
            client.ehlo()
            client.sendmail("a@harness.test", ["b@harness.test"], "Subject: t07\r\n\r\nhi\r\n")
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


def test_only_the_ehlo_after_tls_is_ignored_then_the_twin_delivers(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([faults.Hang(at="ehlo", when="after-tls", attempts=1)], tls="starttls")
    error = send(server, timeout=1.0)
    assert isinstance(error, (TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected))
    ignored = settled(server).attempt(1)
    (fired,) = ignored.faults
    assert fired.text == "hang after-tls" and fired.data["phase"] == "ehlo"
    ehlos = [c.data["tls"] for c in ignored.of_kind("command") if c.text.upper().startswith("EHLO")]
    assert ehlos == [False, True]  # the one before TLS was answered, the one after was not
    assert verdicts.waits_for_ehlo_after_starttls(server.timeline).status == "passed"
    assert not server.messages

    assert send(server, timeout=10.0) is None  # the control twin
    control = settled(server, attempts=2).attempt(2)
    assert control.faults == []
    assert [m.attempt for m in server.messages] == [2]


def test_before_tls_hangs_the_first_ehlo_only(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.Hang(at="ehlo", when="before-tls")], tls="starttls")
    assert isinstance(send(server, timeout=1.0), (TimeoutError, smtplib.SMTPServerDisconnected))
    (fired,) = settled(server).attempt(1).faults
    assert fired.text == "hang before-tls"
    assert [c.text for c in server.timeline.attempt(1).of_kind("command")] == ["ehlo [127.0.0.1]"]


def test_when_must_be_one_of_its_choices() -> None:
    with pytest.raises(InvalidFaultPlan, match="when='during-tls' is not allowed"):
        faults.Hang(at="ehlo", when="during-tls")  # type: ignore[arg-type]


def test_its_scenario_item_round_trips() -> None:
    fault = faults.Hang(at="ehlo", when="after-tls", attempts=[1])
    item = fault_item(fault)
    assert item == {"attempts": 1, "at": "ehlo", "hang": "after-tls"}
    (loaded,) = Scenario.from_dict({"name": "t07", "faults": [item]}).fault_schedule().faults
    assert loaded == fault
    plain = fault_item(faults.Hang(at="rcpt"))
    assert plain == {"at": "rcpt", "hang": True}


def skips_the_ehlo_after_tls(target: Target) -> None:
    """Goes straight to MAIL after STARTTLS, on the capabilities from before TLS."""
    with smtplib.SMTP(target.host, target.port, timeout=5) as client:
        client.ehlo()
        client.starttls(context=CONTEXT)
        client.docmd("MAIL FROM:<a@harness.test>")


def test_a_client_that_sends_no_ehlo_after_tls_is_not_exercised() -> None:
    with Engine(settle_s=2.0) as engine, engine.run(
            load_scenario("starttls-ehlo-ignored")) as run:
        run.call(skips_the_ehlo_after_tls, time_limit_s=6.0)
    assert run.result.outcome == "not-exercised"
    (why,) = run.result.why
    assert why == "the planned hang after-tls at ehlo never fired: attempt 1 sent no EHLO over TLS"
    assert run.verdict.result("re-ehlo-after-starttls").status == "failed"
