"""``harness serve --live``: the page's address is printed before the run starts, the
page's state follows the client's attempts as they happen, then carries the verdict; the
page is served on loopback only. (Drawn by a browser: tests/report/test_live_chromium.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from tests.cli.test_progress import Output
from tests.report.test_live_chromium import THROTTLED, send_until_delivered


def state(url: str, seen: int = -1) -> dict[str, Any]:
    """The page's request: answers at once if anything happened after ``seen`` events."""
    with urllib.request.urlopen(f"{url}state.json?seen={seen}", timeout=30) as response:
        data: dict[str, Any] = json.load(response)
    return data


@pytest.mark.slow
def test_the_live_page_follows_the_attempts_and_shows_the_verdict(tmp_path: Path) -> None:
    scenario = tmp_path / "throttled.yaml"
    scenario.write_text(THROTTLED)
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", str(scenario), "--port", "0", "--live",
         "--timeout", "60", "--seed", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert process.stdout is not None and process.stderr is not None
    out, err = Output(process.stdout.fileno()), Output(process.stderr.fileno())
    try:
        url = out.wait_for(r"^live page: (http://127\.0\.0\.1:\d+/)\n")[1]
        port = int(out.wait_for(r"\nserving live-throttled on 127\.0\.0\.1:(\d+) ")[1])
        with urllib.request.urlopen(url, timeout=30) as page:
            assert "live-throttled" in page.read().decode()
        before = state(url)
        assert before["attempts"] == [] and before["verdict"] is None
        assert send_until_delivered("127.0.0.1", port) == 3
        seen, after = before["events"], before
        for _ in range(100):  # each request waits for news: a bounded number of them
            after = state(url, seen)
            seen = after["events"]
            if after["verdict"] is not None:
                break
        assert process.wait(60) == 0
        out.close()
        err.close()
    finally:
        process.kill()
        process.stdout.close()
        process.stderr.close()
    assert [a["closed_by"] for a in after["attempts"]] == ["server-close"] * 2 + ["client-quit"]
    faults = [e["text"] for a in after["attempts"] for e in a["events"] if e["kind"] == "fault"]
    assert len(faults) == 2 and all("421 4.7.0" in text for text in faults)
    assert after["verdict"]["outcome"] == "passed" and len(after["messages"]) == 1
    assert "[1/1] PASS live-throttled" in out.text
    assert err.text.startswith("start  live-throttled\n")  # progress: on stderr, as a log


def test_live_takes_a_port_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "no-fault", "--port", "0", "--live", "web"]) == 2
    err = capsys.readouterr().err
    assert "expected a port number (0 to 65535), got 'web'" in err
    assert main(["serve", "--live", "no-fault", "--port", "0"]) == 2  # --live took the name
    assert "give the scenario before --live" in capsys.readouterr().err


def test_a_live_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code = main(["serve", "no-fault", "--port", "0", "--live", str(port)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.fullmatch(rf"harness: error: the live page cannot listen on 127\.0\.0\.1 port"
                        rf" {port}: .+\n", err), err
