"""Broken: parses replies by a table, not by the RFC's rules. A code it does not list
("299", "477") is an error it gives up on, a last line without the space after the code
is malformed, and a refused EHLO ends the session instead of falling back to HELO
(RFC 5321 §4.2.1: clients MUST accept the bare code; §4.3.2: MUST read an unrecognised
code by its first digit; §3.2: HELO for servers without ESMTP).

Without TLS it speaks SMTP over a plain socket with its own strict parser; with TLS it
behaves like the correct client."""

from __future__ import annotations

import re
import smtplib
import socket
import sys

from harness.clients import Target
from tests.clients._common import (
    RECIPIENT,
    SENDER,
    Behaviour,
    Permanent,
    Policy,
    main,
    send_once,
    send_with_retries,
)

POLICY = Policy()
BEHAVIOUR = Behaviour()
KNOWN = frozenset({220, 221, 250, 251, 354, 421, 450, 451, 452, 500, 501, 502, 503, 550,
                   551, 552, 553, 554})
_LINE = re.compile(rb"^(\d{3})([ -])(.*)\r\n$")


def read_reply(stream: socket.SocketIO) -> int:
    """One reply's code; Permanent for a code not in the table or a line out of format."""
    while True:
        line = stream.readline(1024)
        if not line:
            raise ConnectionError("the server closed the connection")
        found = _LINE.match(line)
        if found is None:
            raise Permanent(f"malformed reply line {line!r}")
        code = int(found.group(1))
        if code not in KNOWN:
            raise Permanent(f"unknown reply code {code}")
        if found.group(2) == b" ":
            return code


def command(sock: socket.socket, stream: socket.SocketIO, line: bytes, *ok: int) -> None:
    sock.sendall(line + b"\r\n")
    code = read_reply(stream)
    if code not in ok:
        raise smtplib.SMTPResponseException(code, line)


def once(target: Target, data: bytes, policy: Policy, behaviour: Behaviour,
         state: dict[str, bool]) -> None:
    if target.tls != "none":
        send_once(target, data, policy, behaviour, state)
        return
    with socket.create_connection((target.host, target.port), timeout=policy.timeout_s) as sock:
        stream = socket.SocketIO(sock, "rb")
        code = read_reply(stream)
        if code != 220:
            raise smtplib.SMTPResponseException(code, b"greeting")
        command(sock, stream, b"EHLO zoo", 250)
        command(sock, stream, f"MAIL FROM:<{SENDER}>".encode(), 250)
        command(sock, stream, f"RCPT TO:<{RECIPIENT}>".encode(), 250, 251)
        command(sock, stream, b"DATA", 354)
        command(sock, stream, data.replace(b"\r\n.", b"\r\n..") + b".", 250)
        sock.sendall(b"QUIT\r\n")


def send(target: Target) -> int:
    return send_with_retries(target, POLICY, BEHAVIOUR, once=once)


if __name__ == "__main__":
    sys.exit(main(send))
