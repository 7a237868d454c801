"""A connection flood past the server's file-descriptor limit: the exhaustion is
reported once with a count (not a traceback per failed accept), and the server serves
again when descriptors come back."""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

pytestmark = pytest.mark.timeout(120)

SERVER = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    from harness.smtp.server import FakeSMTPServer
    with FakeSMTPServer() as server:
        print(server.port, flush=True)
        sys.stdin.readline()
""")


def test_descriptor_exhaustion_is_logged_once_and_service_resumes() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stderr is not None and server.stdin
    lines: queue.Queue[str] = queue.Queue()
    stderr: list[str] = []

    def read_stderr() -> None:  # always drained: a full pipe would block the server
        assert server.stderr is not None
        for line in server.stderr:
            stderr.append(line)
            lines.put(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()

    def next_line_with(words: str) -> str:
        while words not in (line := lines.get(timeout=60)):
            pass
        return line

    try:
        port = int(server.stdout.readline())
        flood = [socket.create_connection(("127.0.0.1", port)) for _ in range(150)]
        next_line_with("out of file descriptors (EMFILE")
        for sock in flood:
            sock.close()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            assert sock.recv(64).startswith(b"220 ")  # served again
        ended = next_line_with("ended:")
        assert int(ended.split("ended: ")[1].split()[0]) >= 1
    finally:
        server.stdin.close()  # the server stops at the end of its input
        server.wait(60)
        reader.join(10)
        server.stdout.close()
        server.stderr.close()
    assert sum("out of file descriptors (EMFILE" in line for line in stderr) == 1
    assert sum("ended:" in line for line in stderr) == 1
    assert not any("Traceback" in line for line in stderr), "".join(stderr[:20])
