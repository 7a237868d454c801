"""A one-connection TLS echo server on a thread, and a client that talks to it.

Not the SMTP server: these tests prove the certificates themselves, over real sockets.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.errors import CertificateError
from harness.tls import ServerCertificate, certificate

TIMEOUT = 10.0
_PEM = r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n"


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def variant(name: str) -> ServerCertificate:
    """The variant, or a skip saying why this machine cannot build it."""
    try:
        return certificate(name)
    except CertificateError as error:
        pytest.skip(str(error))


def pem_certificates(path: Path) -> list[str]:
    """The PEM certificates in a file, in order."""
    return re.findall(_PEM, path.read_text(), re.S)


@dataclass
class EchoServer:
    """Accepts one connection, completes the handshake, echoes one line, closes."""

    port: int
    version: str | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


@contextmanager
def echo_server(context: ssl.SSLContext, address: str = "127.0.0.1") -> Iterator[EchoServer]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family) as listener:
        listener.bind((address, 0))
        listener.listen(1)
        listener.settimeout(TIMEOUT)
        server = EchoServer(listener.getsockname()[1])

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(TIMEOUT)
                    with context.wrap_socket(conn, server_side=True) as tls:
                        server.version = tls.version()
                        tls.sendall(tls.recv(1024))
            except (OSError, ssl.SSLError) as error:
                server.error = error
            finally:
                server.done.set()

        thread = threading.Thread(target=serve, name="tls-echo")
        thread.start()
        try:
            yield server
        finally:
            thread.join(TIMEOUT)
            assert not thread.is_alive(), "the echo server is stuck"


def exchange(
    port: int, context: ssl.SSLContext, host: str, address: str = "127.0.0.1"
) -> tuple[str | None, bytes]:
    """Connect, handshake as ``host``, send a line; the negotiated version and the echo."""
    with (
        socket.create_connection((address, port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(b"ping\r\n")
        return tls.version(), tls.recv(1024)
