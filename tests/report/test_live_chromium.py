"""The live page of ``harness serve --live`` in headless Chromium: opened before the client
connects, it shows each attempt as it happens, the faults that fired, and the verdict; and
so does the page of ``harness serve --live`` (:class:`LiveServe` around a real serve)."""

from __future__ import annotations

import io
import json
import re
import smtplib
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from harness.live import LiveServe, LiveView
from harness.model import Scenario
from harness.serve import serve_scenario
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder
from tests.report.page import Page
from tests.report.test_html_chromium import CHROMIUM, chromium

THROTTLED = """\
name: live-throttled
about: Two refusals, then delivery.
faults:
  - {attempts: [1, 2], at: banner, reply: "421 4.7.0 Try again later"}
expect: {delivered: once}
"""


def send_until_delivered(host: str, port: int) -> int:
    for attempt in range(1, 6):
        try:
            with smtplib.SMTP(host, port, local_hostname="t", timeout=5) as smtp:
                smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: t\r\n\r\nhi\r\n")
            return attempt
        except (OSError, smtplib.SMTPException):
            continue
    raise AssertionError("never delivered")


def drawn_as_it_happened(done: subprocess.CompletedProcess[str], attempts: int) -> Page:
    """The page Chromium ended with, checked to have been opened before the first of the
    three attempts and drawn again as they came: a bar each, a mark per 421 greeting."""
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Page(done.stdout)
    (status,) = dom.find("p", id="status")
    assert status.attrs["data-first-attempts"] == "0"  # opened before the first connection
    assert status.attrs["data-attempts"] == str(attempts) == "3"
    assert int(status.attrs["data-polls"] or 0) >= 2
    assert len(dom.find("rect", cls="bar")) == 3
    assert len(dom.find("path", cls="m-fault")) == 2  # the two 421 greetings
    first = dom.find("li", cls="k-accept")[0]
    assert "".join(first.text).startswith("+0.000 s  #1 accept")  # timed as the axis is
    return dom


def test_state_waits_for_news_and_says_how_many_events_it_holds() -> None:
    recorder = Recorder()
    with LiveView("x", "about", recorder) as live:
        first = json.load(urllib.request.urlopen(live.url + "state.json"))
        assert first["attempts"] == [] and first["verdict"] is None
        attempt = recorder.open_attempt(("127.0.0.1", 1))
        recorder.close_attempt(attempt, "client-quit")
        after = json.load(urllib.request.urlopen(f"{live.url}state.json?seen={first['events']}"))
        assert [a["closed_by"] for a in after["attempts"]] == ["client-quit"]
        assert after["events"] > first["events"]
        assert after["closes"]["client-quit"][1] == "client sent QUIT"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(live.url + "elsewhere")


def test_only_loopback_is_served() -> None:
    from harness.errors import ClientError

    with pytest.raises(ClientError, match="loopback only"):
        LiveView("x", "", Recorder(), host="0.0.0.0")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test.sh"
                    " installs Debian's chromium when run as root)")
def test_the_page_shows_attempts_as_they_happen_and_then_the_verdict(tmp_path: Path) -> None:
    scenario = Scenario.from_str(THROTTLED)
    recorder = Recorder()
    with FakeSMTPServer(scenario.fault_schedule(seed=1), recorder=recorder) as server, \
            LiveView(scenario.name, scenario.about, recorder) as live:
        page: dict[str, subprocess.CompletedProcess[str]] = {}
        browser = threading.Thread(target=lambda: page.update(done=chromium(
            tmp_path, live.url, "--dump-dom", "--virtual-time-budget=60000")))
        browser.start()
        assert live.opened.wait(60), "the page never asked for the state"
        attempts = send_until_delivered(server.host, server.port)  # while the page watches
        live.decided({"outcome": "passed", "expectations": [
            {"name": "delivered", "status": "passed", "detail": "One copy <b>stored</b>."}]})
        browser.join(120)
    dom = drawn_as_it_happened(page["done"], attempts)
    assert "421 4.7.0 Try again later" in dom.text  # in the list of what happened
    assert "PASSED" in dom.text and "One copy <b>stored</b>." in dom.text  # text, not markup
    assert not dom.find("b")


class Lines(io.StringIO):
    """serve's console stream, which says when the server announced its port."""

    def __init__(self) -> None:
        super().__init__()
        self.serving = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if re.search(r"^serving .* on 127\.0\.0\.1:\d+ ", self.getvalue(), re.M):
            self.serving.set()
        return written


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test.sh"
                    " installs Debian's chromium when run as root)")
def test_serve_live_updates_the_page_while_a_client_sends(tmp_path: Path) -> None:
    """What ``harness serve --live`` runs: the page opened before serve starts, then a
    client throttled twice, as it happens, then the verdict."""
    scenario = Scenario.from_str(THROTTLED)
    out = Lines()
    with LiveServe(scenario, out) as live:
        page: dict[str, subprocess.CompletedProcess[str]] = {}
        browser = threading.Thread(target=lambda: page.update(done=chromium(
            tmp_path, live.view.url, "--dump-dom", "--virtual-time-budget=60000")))
        browser.start()
        assert live.view.opened.wait(60), "the page never asked for the state"
        codes: list[int] = []
        serving = threading.Thread(target=lambda: codes.append(serve_scenario(
            scenario, host="127.0.0.1", port=0, seed=1, timeout_s=60, stream=out,
            on_start=live.on_start, on_result=live.on_result)))
        serving.start()
        assert out.serving.wait(60), out.getvalue()
        port = int(re.findall(r"on 127\.0\.0\.1:(\d+) ", out.getvalue())[0])
        attempts = send_until_delivered("127.0.0.1", port)
        serving.join(60)
        browser.join(120)
    assert codes == [0], out.getvalue()
    assert out.getvalue().startswith(f"live page: {live.view.url}\n")
    dom = drawn_as_it_happened(page["done"], attempts)
    assert "PASSED" in dom.text
    (expected,) = dom.find("li", cls="s-passed")
    assert "".join(expected.text).startswith("passed  delivered: ")
