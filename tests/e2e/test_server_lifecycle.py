"""Starting, stopping and addressing the server; and a port that is already taken."""

from __future__ import annotations

import gc
import smtplib
import socket

import pytest

from harness import FakeSMTPServer, ServerError, faults
from harness.smtp.protocol import FaultySMTP
from tests.e2e.conftest import settled


def test_binds_a_free_port_and_reports_it() -> None:
    with FakeSMTPServer() as one, FakeSMTPServer() as two:
        assert one.host == two.host == "127.0.0.1"
        assert one.port != two.port and one.port > 0
        with smtplib.SMTP(one.host, one.port, timeout=5) as client:
            assert client.noop()[0] == 250
        assert len(settled(one).attempts) == 1
        assert two.timeline.attempts == ()  # no shared state between servers


def test_serves_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = FakeSMTPServer(host="::1").start()
    except ServerError as error:
        pytest.skip(f"::1 not available: {error}")
    with server:
        assert server.host == "::1"
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail("a@harness.test", ["b@harness.test"], b"Subject: v6\r\n\r\nhi\r\n")
    assert len(server.messages) == 1


def test_start_and_stop_are_idempotent() -> None:
    server = FakeSMTPServer()
    server.stop()  # never started: nothing to do
    assert server.start() is server.start()
    port = server.port
    server.stop()
    server.stop()
    with pytest.raises(ServerError, match="not running"):
        _ = server.port
    with socket.socket() as probe:  # the port was released
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_port_in_use_is_a_clear_error() -> None:
    with FakeSMTPServer() as taken:
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            with pytest.raises(ServerError, match=rf"cannot listen on 127.0.0.1:{port}: .*in use"):
                FakeSMTPServer(port=port).start()
        assert taken.port > 0  # the running server is unaffected


def test_stop_with_open_connections_records_server_stop() -> None:
    server = FakeSMTPServer([faults.Hang(at="banner")]).start()
    with socket.create_connection((server.host, server.port), timeout=5) as client:
        server.recorder.wait_for(lambda t: len(t.attempts) == 1, 5)
        server.stop()
        assert client.recv(1) == b""  # the server went away
    assert server.timeline.attempt(1).closed_by == "server-stop"


def test_reset_forgets_timeline_and_fault_state() -> None:
    with FakeSMTPServer([faults.Greylist(seconds=60)]) as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            client.mail("a@harness.test")
            assert client.rcpt("b@harness.test")[0] == 451
        settled(server)
        server.reset()
        assert server.timeline.attempts == ()
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.ehlo()
            client.mail("a@harness.test")
            assert client.rcpt("b@harness.test")[0] == 451  # first sight again
        assert [a.index for a in settled(server).attempts] == [1]


def test_a_closed_session_is_freed_without_the_collector() -> None:
    """A session breaks its reference cycles as it ends: left to the garbage collector,
    the sessions of a few hundred connections were freed in one full collection that
    stopped every thread for tens of milliseconds (what a delay fault then passed on)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with FakeSMTPServer() as server:
            for _ in range(3):  # quits
                with smtplib.SMTP(server.host, server.port, timeout=5) as client:
                    client.sendmail("a@harness.test", ["b@harness.test"], b"Subject: x\r\n\r\n")
            with socket.create_connection((server.host, server.port), timeout=5) as raw:
                assert raw.recv(1024).startswith(b"220")  # then closes without QUIT
            assert len(settled(server).attempts) == 4
        gc.collect()
        cyclic = [o for o in gc.garbage if isinstance(o, FaultySMTP)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert cyclic == []
