"""The MTA recipe (docs/recipes/mta-postfix.md): a Postfix instance of its own, configured
from examples/postfix/, relays through ``harness serve`` and its queue does the retrying.

Each scenario is served on a port of its own and the relay routes one recipient domain to
each (``transport``), so the scenarios run side by side against one Postfix. They are
served in this process (``harness.serve.serve_scenario``) so that Postfix can be given the
harness's CA file. Postfix listens on 127.0.0.1 only and delivers nowhere but the harness.
It comes from Debian (scripts/test.sh installs it when run as root); its master must be
started as root, so the test is skipped otherwise.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.serve import serve_scenario
from harness.tls import certificate
from tests.recipes.conftest import EXAMPLES, status

POSTFIX = shutil.which("postfix") or ("/usr/sbin/postfix" if Path("/usr/sbin/postfix").exists()
                                      else None)


def _skip_reason() -> str | None:
    if POSTFIX is None:
        return "Postfix is not installed (scripts/test.sh installs it when run as root)"
    if os.geteuid() != 0:
        return "Postfix's master must be started as root"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "there is no postfix user (Debian's package creates it)"
    return None


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))]

# scenario -> the TLS policy Postfix applies to its next hop
SCENARIOS = {
    "no-fault": "may",
    "banner-421-throttle": "may",
    "reset-mid-data": "may",
    "cert-valid-starttls": "secure match=localhost",
    "cert-expired-starttls": "secure match=localhost",
    "starttls-stripped": "encrypt",
    "banner-554": "may",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Announcer(io.StringIO):
    """The console stream of one served scenario: set once it says it is serving."""

    def __init__(self) -> None:
        super().__init__()
        self.serving = threading.Event()

    def write(self, text: str) -> int:
        if text.startswith("serving "):
            self.serving.set()
        return super().write(text)


@dataclass
class Served:
    name: str
    port: int
    report: Path
    console: _Announcer = field(default_factory=_Announcer)
    thread: threading.Thread | None = None
    exit_code: list[int] = field(default_factory=list)

    def start(self) -> None:
        def serve() -> None:
            self.exit_code.append(serve_scenario(
                self.name, host="127.0.0.1", port=self.port, timeout_s=30, quiet_s=2.0,
                json_path=self.report, stream=self.console))

        self.thread = threading.Thread(target=serve, name=f"serve {self.name}", daemon=True)
        self.thread.start()

    def wait_serving(self) -> None:
        if not self.console.serving.wait(20):
            raise TimeoutError(f"{self.name} was not served within 20 s")

    def result(self) -> dict[str, Any]:
        assert self.thread is not None
        self.thread.join(40)
        assert not self.thread.is_alive(), f"{self.name} still serving after 40 s"
        (scenario,) = json.loads(self.report.read_text())["scenarios"]
        return dict(scenario)


def configure(directory: Path, submit_port: int, cafile: str,
              served: dict[str, Served]) -> None:
    """examples/postfix/ with its placeholders filled in and one route per scenario."""
    for name in ("main.cf", "master.cf"):
        text = (EXAMPLES / "postfix" / name).read_text()
        text = (text.replace("__DIR__", str(directory))
                .replace("__SUBMIT_PORT__", str(submit_port)).replace("__CAFILE__", cafile))
        (directory / name).write_text(text)
    (directory / "transport").write_text("".join(
        f"{name}.test smtp:[127.0.0.1]:{s.port}\n" for name, s in served.items()))
    (directory / "tls_policy").write_text("".join(
        f"[127.0.0.1]:{s.port} {SCENARIOS[name]}\n" for name, s in served.items()))
    (directory / "queue").mkdir()
    (directory / "data").mkdir()
    account = pwd.getpwnam("postfix")
    os.chown(directory / "data", account.pw_uid, account.pw_gid)  # the daemons write there


def postfix(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert POSTFIX is not None
    return subprocess.run([POSTFIX, "-c", str(directory), *args], capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def relayed() -> Iterator[dict[str, dict[str, Any]]]:
    """Every scenario's report once Postfix relayed (or kept) one message for each."""
    # Postfix's daemons run as the postfix user: the folder must be reachable by it,
    # which pytest's tmp_path (mode 0700) is not.
    directory = Path(tempfile.mkdtemp(prefix="harness-postfix-"))
    directory.chmod(0o755)
    served = {name: Served(name, free_port(), directory / f"{name}.json") for name in SCENARIOS}
    try:
        for one in served.values():
            one.start()
        for one in served.values():  # all at once: each calibrates its timer first
            one.wait_serving()
        submit_port = free_port()
        configure(directory, submit_port, str(certificate("valid").cafile), served)
        started = postfix(directory, "start")
        assert started.returncode == 0, started.stderr + _log(directory)
        try:
            with smtplib.SMTP("127.0.0.1", submit_port, timeout=10) as submission:
                for name in served:
                    submission.sendmail(
                        "app@example.org", [f"user@{name}.test"],
                        f"Subject: {name}\r\nMessage-ID: <{name}@example.org>\r\n\r\nHello.\r\n",
                    )
            yield {name: one.result() for name, one in served.items()}
        finally:
            postfix(directory, "stop")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _log(directory: Path) -> str:
    log = directory / "maillog"
    return log.read_text()[-3000:] if log.exists() else ""


def test_postfix_delivers_through_the_harness(relayed: dict[str, dict[str, Any]]) -> None:
    for name in ("no-fault", "cert-valid-starttls"):
        assert relayed[name]["passed"], relayed[name]["expectations"]
        assert len(relayed[name]["messages"]) == 1


def test_postfix_queue_retries_after_421_and_a_cut(relayed: dict[str, dict[str, Any]]) -> None:
    throttled = relayed["banner-421-throttle"]
    assert throttled["passed"], throttled["expectations"]
    assert len(throttled["attempts"]) >= 3
    assert relayed["reset-mid-data"]["passed"], relayed["reset-mid-data"]["expectations"]


def test_postfix_bounces_a_554_greeting(relayed: dict[str, dict[str, Any]]) -> None:
    """smtp_skip_5xx_greeting = no: Postfix's default would defer and retry."""
    refused = relayed["banner-554"]
    assert refused["passed"], refused["expectations"]
    assert len(refused["attempts"]) == 1


def test_postfix_tls_policy_refuses_bad_and_stripped(relayed: dict[str, dict[str, Any]]) -> None:
    expired = relayed["cert-expired-starttls"]
    assert expired["passed"], expired["expectations"]
    assert status(expired, "refuses-bad-certificate") == "passed"
    stripped = relayed["starttls-stripped"]
    assert stripped["passed"], stripped["expectations"]
    assert stripped["messages"] == []
