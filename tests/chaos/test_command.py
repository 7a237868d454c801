"""``harness toxiproxy``: a pip-installable Toxiproxy, driven by toxiproxy-python."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import toxiproxy

from harness.cli import main
from tests.chaos.upstream import EchoServer, connect, read_to_end


def test_command_serves_the_api_until_terminated(tmp_path: Path, echo: EchoServer) -> None:
    config = tmp_path / "proxies.json"
    upstream = "{}:{}".format(*echo.address)
    config.write_text(json.dumps([{"name": "echo", "upstream": upstream}]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "toxiproxy", "--port", "0", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "Toxiproxy-compatible API on http://127.0.0.1:" in line
        host, port = line.split("http://", 1)[1].split()[0].rsplit(":", 1)
        server = toxiproxy.Toxiproxy()
        server.update_api_consumer(host, int(port))
        proxy = server.get_proxy("echo")
        assert proxy is not None and proxy.upstream == upstream
        proxy.add_toxic(type="limit_data", attributes={"bytes": 2})
        listen_host, listen_port = proxy.listen.rsplit(":", 1)
        with connect(listen_host, int(listen_port)) as sock:
            sock.sendall(b"hello")
            assert read_to_end(sock).data == b"he"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_command_reports_a_missing_config_without_traceback(
    tmp_path: Path, capsys: object
) -> None:
    assert main(["toxiproxy", "--port", "0", "--config", str(tmp_path / "none.json")]) == 3
