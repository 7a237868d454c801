"""FakeSMTPServer.use(): swap the fault schedule of a running server, start afresh."""

from __future__ import annotations

import smtplib
import socket

from harness import FakeSMTPServer, faults


def _mail_code(server: FakeSMTPServer) -> int:
    with smtplib.SMTP(server.host, server.port, local_hostname="t", timeout=5) as smtp:
        smtp.ehlo()
        return int(smtp.docmd("MAIL", "FROM:<a@example.org>")[0])


def test_use_swaps_the_schedule_on_the_same_port() -> None:
    with FakeSMTPServer([faults.Reply(at="mail", reply="451 4.3.0 Later")]) as server:
        port = server.port
        assert _mail_code(server) == 451
        schedule = server.use([faults.Reply(at="mail", reply="550 5.7.1 No")], seed=5)
        assert schedule.seed == 5 and server.schedule is schedule
        assert server.port == port
        assert server.timeline.attempts == ()
        assert _mail_code(server) == 550


def test_use_without_faults_is_the_control() -> None:
    with FakeSMTPServer([faults.Reply(at="mail", reply="451 4.3.0 Later")]) as server:
        server.use()
        assert _mail_code(server) == 250


def test_use_closes_connections_still_open() -> None:
    with FakeSMTPServer() as server:
        client = socket.create_connection((server.host, server.port), timeout=5)
        try:
            server.recorder.wait_for(lambda t: len(t.attempts) == 1, 5)
            client.recv(1024)  # the greeting
            server.use()
            assert client.recv(1024) == b""  # closed by the server
            assert server.timeline.attempts == ()
        finally:
            client.close()


def test_use_on_a_stopped_server_only_swaps() -> None:
    server = FakeSMTPServer()
    schedule = server.use([faults.Close(at="banner")])
    assert server.schedule is schedule
