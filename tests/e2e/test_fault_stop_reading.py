"""``stop-reading``: the server stops reading mid-DATA and the client's send blocks.

The message is larger than what the kernel buffers between the two sockets can hold
(the client's send buffer is made small), so a client whose writes were still being
read would finish; here its send can only end by its own timeout. Attempt 2 on the same
server is the no-fault control twin: the same message, the same timeout, delivered.
"""

from __future__ import annotations

import smtplib
import socket

from harness import FakeSMTPServer, faults
from harness.model import Scenario
from harness.plan import fault_item
from tests.e2e.conftest import ServerFactory

StopReading = faults.KINDS["stop-reading"]
LINE = b"y" * 990 + b"\r\n"
MESSAGE = b"Message-ID: <big@harness.test>\r\nSubject: big\r\n\r\n" + LINE * 10_000  # ~10 MB
TIMEOUT_S = 20.0
"""Ample for the control twin on a loaded machine; the stalled send waits it out."""


def send(server: FakeSMTPServer, timeout: float) -> Exception | None:
    try:
        with smtplib.SMTP(server.host, server.port, timeout=timeout) as client:
            assert client.sock is not None
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            client.sendmail("a@harness.test", ["b@harness.test"], MESSAGE)
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


def test_the_send_blocks_until_the_client_times_out_then_the_twin_delivers(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([StopReading(after_bytes=4096, attempts=1)])
    error = send(server, timeout=2.0)
    assert isinstance(error, (TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected))
    stalled = server.timeline.attempt(1)  # the fault fired before the send could block
    (fired,) = stalled.faults
    assert fired.data["fault"] == "stop-reading" and fired.data["offset"] == 4096
    assert not server.messages

    assert send(server, timeout=TIMEOUT_S) is None  # the control twin
    control = server.recorder.wait_for(  # attempt 1 stays open: nobody reads its close
        lambda t: len(t.attempts) >= 2 and t.attempt(2).end_ns is not None, 10.0).attempt(2)
    assert control.faults == [] and control.data_bytes == len(MESSAGE)
    assert [m.attempt for m in server.messages] == [2]


def test_its_scenario_item_round_trips() -> None:
    fault = StopReading(after_bytes=2048, attempts=[1])
    item = fault_item(fault)
    assert item == {"attempts": 1, "after_bytes": 2048, "stop-reading": True}
    (loaded,) = Scenario.from_dict({"name": "stop", "faults": [item]}).fault_schedule().faults
    assert loaded == fault


def test_a_body_delay_holds_a_large_message_in_order(smtp_server: ServerFactory) -> None:
    """The pause that stop-reading keeps for good is the one a body ``delay`` lifts: the
    server's line reader must not resume it early, or later bytes overtake the held ones
    (the message arrived corrupt, answered ``500 Line too long``)."""
    server = smtp_server([faults.Delay(at="body", after_bytes=4096, seconds=0.3)])
    assert send(server, timeout=TIMEOUT_S) is None
    (message,) = server.messages
    assert message.raw == MESSAGE
