"""Clients that speak garbage: the server answers as a real server would, or closes,
records what it got, and keeps serving everyone else."""

from __future__ import annotations

import smtplib
import socket
import struct

import pytest

from harness import FakeSMTPServer
from tests.e2e.conftest import ServerFactory, settled


def talk(server: FakeSMTPServer, *lines: bytes) -> list[bytes]:
    """Send each line after reading the previous reply; return the replies' first lines."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        stream = sock.makefile("rb")
        replies = [stream.readline()]
        for line in lines:
            sock.sendall(line)
            reply = stream.readline()
            while reply[3:4] == b"-":
                reply = stream.readline()
            replies.append(reply)
        stream.close()
    return replies


def still_serves(server: FakeSMTPServer) -> None:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        client.sendmail("a@harness.test", ["b@harness.test"], b"Subject: ok\r\n\r\nfine\r\n")
    assert server.messages[-1].raw.endswith(b"fine\r\n")


@pytest.mark.parametrize(
    ("lines", "codes"),
    [
        ([b"HELLO THERE\r\n"], [500]),
        ([b"\x00\xff\xfe garbage \x80\r\n"], [500]),
        ([b"NOOP " + b"a" * 2000 + b"\r\n"], [500]),
        ([b"\r\n"], [500]),
        ([b"MAIL FROM:<a@harness.test>\r\n"], [503]),  # before EHLO
        ([b"EHLO x\r\n", b"RCPT TO:<b@harness.test>\r\n"], [250, 503]),  # before MAIL
        ([b"EHLO x\r\n", b"MAIL FROM:<a@harness.test>\r\n", b"DATA\r\n"], [250, 250, 503]),
        ([b"EHLO x\r\n", b"MAIL FROM:<a@harness.test>\r\n", b"MAIL FROM:<c@harness.test>\r\n"],
         [250, 250, 503]),
        ([b"EHLO\r\n"], [501]),
        ([b"EHLO x\r\n", b"MAIL TO:<a@harness.test>\r\n"], [250, 501]),
    ],
    ids=["unknown-command", "binary", "line-over-1000", "empty-line", "mail-before-ehlo",
         "rcpt-before-mail", "data-before-rcpt", "nested-mail", "ehlo-no-arg", "bad-address"],
)
def test_bad_commands_get_real_server_replies(
    smtp_server: ServerFactory, lines: list[bytes], codes: list[int]
) -> None:
    server = smtp_server()
    replies = talk(server, *lines)
    assert [int(r[:3]) for r in replies] == [220, *codes]
    attempt = settled(server).attempt(1)
    assert len(attempt.commands) == len(lines)
    assert attempt.reply_codes[1:] == codes
    still_serves(server)


def test_binary_command_is_recorded_escaped(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    talk(server, b"\x00\xff garbage\r\n")
    assert settled(server).attempt(1).commands == ["\\x00\\xff garbage"]


def test_overlong_line_is_recorded_truncated(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    talk(server, b"NOOP " + b"a" * 5000 + b"\r\n")
    (command,) = settled(server).attempt(1).of_kind("command")
    assert len(command.text) == 1000 and command.data["truncated"] is True


CONVERSATION = [
    b"EHLO x\r\n", b"MAIL FROM:<a@harness.test>\r\n", b"RCPT TO:<b@harness.test>\r\n",
    b"DATA\r\n", b"Subject: cut\r\n\r\npartial body",
]


@pytest.mark.parametrize("sent", range(len(CONVERSATION) + 1))
@pytest.mark.parametrize("how", ["close", "reset", "half-close"])
def test_client_drops_at_any_phase(smtp_server: ServerFactory, sent: int, how: str) -> None:
    server = smtp_server()
    sock = socket.create_connection((server.host, server.port), timeout=5)
    stream = sock.makefile("rb")
    try:
        stream.readline()
        for line in CONVERSATION[:sent]:
            sock.sendall(line)
            if line.endswith(b"\r\n"):
                while stream.readline()[3:4] == b"-":
                    pass
        if how == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif how == "half-close":
            sock.shutdown(socket.SHUT_WR)
            assert stream.read() == b""  # the server closes its side too
    finally:
        stream.close()
        sock.close()
    attempt = settled(server).attempt(1)
    expected = "client-reset" if how == "reset" else "client-close"
    assert attempt.closed_by == expected
    if sent == len(CONVERSATION):
        body = CONVERSATION[-1]
        assert attempt.of_kind("data")[0].data == {"bytes": len(body), "complete": False}
    assert server.messages == ()
    still_serves(server)
