"""``too-many-recipients``: 452 4.5.3 to each RCPT past the limit of a transaction.

smtplib's ``sendmail`` goes on with the accepted recipients and returns the refused ones;
a second transaction on the same connection, to those, is accepted (the limit is per
transaction). Attempt 2 on the same server is the no-fault control twin.
"""

from __future__ import annotations

import smtplib

from harness import faults
from harness.model import Scenario
from harness.plan import fault_item
from tests.e2e.conftest import ServerFactory, settled

TooManyRecipients = faults.KINDS["too-many-recipients"]
MESSAGE = b"Message-ID: <many@harness.test>\r\nSubject: many\r\n\r\nhello\r\n"
THREE = ["a@harness.test", "b@harness.test", "c@harness.test"]


def test_the_third_recipient_is_deferred_then_a_new_transaction_takes_it(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([TooManyRecipients(max_recipients=2, attempts=1)])
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        refused = client.sendmail("s@harness.test", THREE, MESSAGE)
        assert {r: code for r, (code, _) in refused.items()} == {"c@harness.test": 452}
        assert refused["c@harness.test"][1].startswith(b"4.5.3 Too many recipients")
        assert client.sendmail("s@harness.test", list(refused), MESSAGE) == {}
    first = settled(server).attempt(1)
    assert [e.data["fault"] for e in first.faults] == ["too-many-recipients"]
    assert [m.rcpt_tos for m in server.messages] == [
        ("a@harness.test", "b@harness.test"), ("c@harness.test",)]

    with smtplib.SMTP(server.host, server.port, timeout=5) as client:  # the control twin
        assert client.sendmail("s@harness.test", THREE, MESSAGE) == {}
    control = settled(server, attempts=2).attempt(2)
    assert control.faults == [] and server.messages[-1].rcpt_tos == tuple(THREE)


def test_its_scenario_item_round_trips() -> None:
    fault = TooManyRecipients(max_recipients=2, attempts=[1])
    item = fault_item(fault)
    assert item == {"attempts": 1, "too-many-recipients": 2}
    (loaded,) = Scenario.from_dict({"name": "many", "faults": [item]}).fault_schedule().faults
    assert loaded == fault


def test_a_reply_for_one_occurrence_fires_once_in_the_run(smtp_server: ServerFactory) -> None:
    """``occurrence: 2``: the second MAIL FROM of the run, on whichever connection."""
    server = smtp_server([faults.Reply(at="mail", reply="550 5.7.1 Sender rejected",
                                       occurrence=2)])
    outcomes = []
    for _ in range(3):
        try:
            with smtplib.SMTP(server.host, server.port, timeout=5) as client:
                client.sendmail("s@harness.test", ["r@harness.test"], MESSAGE)
            outcomes.append(250)
        except smtplib.SMTPSenderRefused as error:
            outcomes.append(error.smtp_code)
    assert outcomes == [250, 550, 250]
    timeline = settled(server, attempts=3)
    assert [len(a.faults) for a in timeline.attempts] == [0, 1, 0]
    item = fault_item(faults.Reply(at="mail", reply="550 5.7.1 Sender rejected", occurrence=2))
    assert item == {"at": "mail", "reply": "550 5.7.1 Sender rejected", "occurrence": 2}
