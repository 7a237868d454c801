"""The faults against a real asyncio client, aiosmtplib, with the server on the test's loop.

Like the smtplib suite, attempt 1 carries the fault and attempt 2 is the control twin.
"""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest

from harness import FakeSMTPServer, faults
from harness.faults import Fault

MESSAGE = b"Message-ID: <a1@harness.test>\r\nSubject: test\r\n\r\n" + b"y" * 300 + b"\r\n"


async def send(server: FakeSMTPServer, timeout: float = 5.0) -> Exception | None:
    try:
        async with aiosmtplib.SMTP(
            hostname=server.host, port=server.port, timeout=timeout, start_tls=False
        ) as client:
            await client.sendmail("sender@harness.test", ["rcpt@harness.test"], MESSAGE)
    except aiosmtplib.SMTPException as error:
        return error
    return None


CASES: list[tuple[Fault, type[Exception], str]] = [
    (faults.Reply(at="banner", reply="421 4.7.0 Busy", attempts=1),
     aiosmtplib.SMTPConnectResponseError, "server-close"),
    (faults.Reply(at="ehlo", reply="421 4.7.0 Busy", attempts=1),
     aiosmtplib.SMTPHeloError, "server-close"),
    (faults.Reply(at="rcpt", reply="550 5.1.1 No such user", attempts=1),
     aiosmtplib.SMTPRecipientsRefused, "client-quit"),
    (faults.Reply(at="dot", reply="451 4.3.0 Try again", attempts=1),
     aiosmtplib.SMTPDataError, "client-quit"),
    (faults.Close(at="mail", attempts=1), aiosmtplib.SMTPServerDisconnected, "server-close"),
    (faults.Reset(at="body", after_bytes=64, attempts=1),
     aiosmtplib.SMTPServerDisconnected, "server-reset"),
    (faults.Hang(at="banner", attempts=1), aiosmtplib.SMTPConnectTimeoutError, "client-close"),
    (faults.Hang(at="dot", attempts=1), aiosmtplib.SMTPReadTimeoutError, "client-close"),
    (faults.StoreThenDrop(attempts=1), aiosmtplib.SMTPServerDisconnected, "server-close"),
]


@pytest.mark.parametrize(("fault", "error", "closed_by"), CASES,
                         ids=[f"{c[0].kind}-{c[0].at}" for c in CASES])
def test_fault_then_control_twin(fault: Fault, error: type[Exception], closed_by: str) -> None:
    async def scenario() -> FakeSMTPServer:
        async with FakeSMTPServer([fault]) as server:
            assert isinstance(await send(server, timeout=0.5), error)
            assert await send(server) is None  # attempt 2: the control twin
        return server

    server = asyncio.run(scenario())
    timeline = server.timeline  # stop() waited for every close to be recorded
    assert timeline.attempt(1).closed_by == closed_by
    assert timeline.attempt(1).faults[0].data["phase"] == fault.at
    assert timeline.attempt(2).closed_by == "client-quit"
    stored = [m.attempt for m in timeline.messages]
    assert stored == ([1, 2] if isinstance(fault, faults.StoreThenDrop) else [2])


def test_delay_is_seen_by_the_async_client() -> None:
    async def scenario() -> float:
        async with FakeSMTPServer([faults.Delay(at="banner", seconds=0.2)]) as server:
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await send(server) is None
            return loop.time() - started

    assert asyncio.run(scenario()) >= 0.2


def test_threaded_server_serves_an_async_client() -> None:
    with FakeSMTPServer() as server:
        assert asyncio.run(send(server)) is None
    assert [m.message_id for m in server.messages] == ["<a1@harness.test>"]
