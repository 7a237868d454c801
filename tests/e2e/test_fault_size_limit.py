"""``size-limit``: 552 5.3.4 to a MAIL FROM whose declared SIZE is over the limit.

smtplib declares ``size=`` whenever the server offers SIZE; attempt 1 carries the
fault, and a message within the limit (and attempt 2, the control twin) is delivered.
"""

from __future__ import annotations

import smtplib

from harness import FakeSMTPServer, faults
from harness.model import Scenario
from harness.plan import fault_item
from tests.e2e.conftest import ServerFactory, settled

SizeLimit = faults.KINDS["size-limit"]
HEADER = b"Message-ID: <size@harness.test>\r\nSubject: size\r\n\r\n"


def send(server: FakeSMTPServer, body_bytes: int) -> Exception | None:
    try:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail("a@harness.test", ["b@harness.test"],
                            HEADER + (b"x" * 98 + b"\r\n") * (body_bytes // 100))
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


def test_a_message_over_the_limit_gets_552_then_the_control_twin_delivers(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([SizeLimit(max_bytes=1000, attempts=1)])
    error = send(server, 5000)
    assert isinstance(error, smtplib.SMTPSenderRefused)
    assert (error.smtp_code, error.smtp_error[:5]) == (552, b"5.3.4")
    refused = settled(server).attempt(1)
    assert [e.data["fault"] for e in refused.faults] == ["size-limit"]
    assert 354 not in refused.reply_codes and not server.messages

    assert send(server, 5000) is None  # the control twin: no limit on attempt 2
    control = settled(server, attempts=2).attempt(2)
    assert control.faults == []
    assert [m.attempt for m in server.messages] == [2]


def test_a_message_within_the_limit_is_delivered(smtp_server: ServerFactory) -> None:
    server = smtp_server([SizeLimit(max_bytes=100_000)])
    assert send(server, 5000) is None
    assert settled(server).attempt(1).faults == []
    assert len(server.messages) == 1


def test_its_scenario_item_round_trips() -> None:
    fault = SizeLimit(max_bytes=1000, attempts="2+")
    item = fault_item(fault)
    assert item == {"attempts": "2+", "size-limit": 1000}
    (loaded,) = Scenario.from_dict({"name": "size", "faults": [item]}).fault_schedule().faults
    assert loaded == fault
