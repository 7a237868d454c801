"""``auth-failure``: AUTH refused with 535 5.7.8 or 454 4.7.0, against smtplib's login.

Attempt 1 carries the fault; attempt 2 on the same server is the no-fault control twin
and must log in and deliver.
"""

from __future__ import annotations

import smtplib

import pytest

from harness import FakeSMTPServer, faults
from harness.errors import InvalidFaultPlan
from harness.model import Scenario
from harness.plan import fault_item
from tests.e2e.conftest import ServerFactory, settled

AuthFailure = faults.KINDS["auth-failure"]
MESSAGE = b"Message-ID: <auth@harness.test>\r\nSubject: auth\r\n\r\nhello\r\n"
USERS = {"alice": "secret"}


def send(server: FakeSMTPServer) -> Exception | None:
    try:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.login("alice", "secret")
            client.sendmail("a@harness.test", ["b@harness.test"], MESSAGE)
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


@pytest.mark.parametrize(("reply", "code"), [
    (None, 535), ("454 4.7.0 Temporary authentication failure", 454),
])
def test_login_is_refused_then_the_control_twin_logs_in(
    smtp_server: ServerFactory, reply: str | None, code: int
) -> None:
    fault = AuthFailure(attempts=1) if reply is None else AuthFailure(attempts=1, reply=reply)
    server = smtp_server([fault], auth_credentials=USERS, auth_require_tls=False)
    error = send(server)
    assert isinstance(error, smtplib.SMTPAuthenticationError)
    assert error.smtp_code == code
    refused = settled(server).attempt(1)
    assert [e.data["fault"] for e in refused.faults] == ["auth-failure"] * len(refused.faults)
    assert refused.faults and code in refused.reply_codes and 235 not in refused.reply_codes
    assert not server.messages

    assert send(server) is None  # the control twin
    control = settled(server, attempts=2).attempt(2)
    assert control.faults == [] and 235 in control.reply_codes
    assert [m.attempt for m in server.messages] == [2]


def test_a_reply_that_is_not_an_auth_failure_is_refused() -> None:
    with pytest.raises(InvalidFaultPlan, match="not a failure reply to AUTH"):
        AuthFailure(reply="250 2.0.0 OK")


def test_its_scenario_item_round_trips() -> None:
    fault = AuthFailure(reply="454 4.7.0 Temporary authentication failure", attempts=[1, 2])
    item = fault_item(fault)
    assert item == {"attempts": [1, 2],
                    "auth-failure": "454 4.7.0 Temporary authentication failure"}
    (loaded,) = Scenario.from_dict({"name": "auth", "faults": [item]}).fault_schedule().faults
    assert loaded == fault
    assert fault_item(AuthFailure()) == {"auth-failure": True}
