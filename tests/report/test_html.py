"""The HTML report, built from timelines recorded in memory with a controlled clock."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from harness.clients import ClientResult, Target
from harness.model import Scenario
from harness.outcome import RunResult
from harness.report import write_html
from harness.report.html import OPEN_ALL_UP_TO, html_report
from harness.timeline import Recorder
from harness.verdicts import Calibration, judge
from tests.report.page import Page

OWN_SCRIPT = resources.files("harness.report.html").joinpath("report.js").read_text()
HOSTILE_STDOUT = "<script>alert('stdout')</script>"
HOSTILE_STDERR = "</pre><img src=x onerror=alert(1)>"
HOSTILE_EHLO = 'EHLO <script>alert("ehlo")</script>'
HOSTILE_MAIL = 'MAIL FROM:<" onmouseover="alert(1)>'

THROTTLED = """\
name: throttled
about: "Busy <b>server</b> & friends; RFC 5321 §4.5.4.1."
faults:
  - attempts: [1, 2]
    at: banner
    reply: "421 4.7.0 Try again later"
expect:
  delivered: once
  attempts: {min: 3}
  backoff: {initial_s: 0.5, factor: 2.0, jitter: equal}
  client-exit: zero
"""


class Clock:
    """Monotonic nanoseconds that move 0.1 ms per reading, and further when told."""

    def __init__(self) -> None:
        self.now = 7_000_000_000

    def __call__(self) -> int:
        self.now += 100_000
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1e9)


def result_of(
    scenario_text: str,
    record: Callable[[Recorder, Clock], None],
    client: ClientResult | None = None,
) -> RunResult:
    scenario = Scenario.from_str(scenario_text)
    clock = Clock()
    recorder = Recorder(clock=clock)
    record(recorder, clock)
    timeline = recorder.timeline()
    client = client or ClientResult(0, 0.5)
    duration = (clock.now - timeline.origin_ns) / 1e9
    verdict = judge(timeline, scenario.expectations(), client_exit=client.exit_code,
                    calibration=Calibration.assumed(), duration_s=duration, seed=42)
    return RunResult(scenario, 42, timeline, verdict, client, Target("127.0.0.1", 2525),
                     duration)


def throttled_record(recorder: Recorder, clock: Clock) -> None:
    """Two 421s at the banner, retried too soon for the declared policy, then delivery."""
    for wait in (0.1, 0.2):
        n = recorder.open_attempt(("127.0.0.1", 40000 + n_of(recorder)))
        recorder.record(n, "fault", "reply 421 4.7.0 Try again later", phase="banner",
                        fault="reply", action="send")
        recorder.record(n, "reply", "421 4.7.0 Try again later", code=421)
        recorder.close_attempt(n, "server-close")
        clock.advance(wait)
    n = recorder.open_attempt(("127.0.0.1", 40003))
    recorder.record(n, "toxic", "latency_downstream: delaying chunks by 5 ms",
                    toxic="latency_downstream", type="latency")
    recorder.record(n, "reply", "220 localhost ESMTP", code=220)
    recorder.record(n, "command", HOSTILE_EHLO)
    recorder.record(n, "reply", "250-localhost\n250 STARTTLS", code=250)
    recorder.record(n, "tls", "handshake ok: TLSv1.3", event="handshake", ok=True)
    recorder.record(n, "command", HOSTILE_MAIL)
    recorder.record(n, "reply", "250 OK", code=250)
    recorder.store_message(n, mail_from="a@harness.test", rcpt_tos=("b@harness.test",),
                           message_id="<1@harness.test>", raw=b"Subject: x\r\n\r\nx\r\n")
    recorder.record(n, "reply", "250 2.0.0 OK queued", code=250)
    recorder.record(n, "command", "QUIT")
    recorder.record(n, "reply", "221 Bye", code=221)
    recorder.close_attempt(n, "client-quit")


def n_of(recorder: Recorder) -> int:
    return len(recorder.timeline().attempts)


def clean_record(recorder: Recorder, clock: Clock) -> None:
    n = recorder.open_attempt(("127.0.0.1", 41000))
    recorder.record(n, "command", "EHLO client")
    recorder.store_message(n, mail_from="a@harness.test", rcpt_tos=("b@harness.test",),
                           message_id="<2@harness.test>", raw=b"x")
    recorder.record(n, "reply", "250 OK", code=250)
    recorder.close_attempt(n, "client-quit")


def failing() -> RunResult:
    result = result_of(THROTTLED, throttled_record,
                       ClientResult(0, 0.6, stdout=HOSTILE_STDOUT, stderr=HOSTILE_STDERR))
    assert not result.passed and result.verdict.failures  # the report must show a failure
    return result


def passing(name: str = "clean") -> RunResult:
    result = result_of(f"name: {name}\nexpect: {{delivered: once}}\n", clean_record)
    assert result.passed
    return result


def test_the_document_is_well_formed_and_says_the_outcome_in_its_title() -> None:
    page = Page(html_report([passing(), failing()], seed=None))
    assert page.doctype is not None and page.doctype.lower() == "doctype html"
    head = next(t for t in page.tags if t.name == "head")
    assert head.title is not None and head.title.startswith("FAIL")
    assert "1 failed" in page.text and "1 passed" in page.text
    assert "random per scenario" in page.text


def test_client_output_commands_and_about_are_shown_as_text_never_as_markup() -> None:
    document = html_report([failing()], seed=7)
    page = Page(document)
    for text in (HOSTILE_STDOUT, HOSTILE_STDERR, HOSTILE_EHLO, HOSTILE_MAIL,
                 "Busy <b>server</b> & friends"):
        assert text in page.text  # the reader sees it exactly as it was
    assert not page.find("img")
    assert not [t for t in page.find("b") if "".join(t.text) == "server"]
    assert not [(t.name, a) for t in page.tags for a in t.attrs if a.startswith("on")]
    assert document.lower().count("<script") == 1  # the report's own, and no other
    (script,) = page.find("script")
    assert "".join(script.text) == OWN_SCRIPT


def test_every_attempt_has_a_bar_a_row_and_a_transcript() -> None:
    result = failing()
    page = Page(html_report([result], seed=None))
    bars = page.find("rect", cls="bar")
    assert len(bars) == len(result.timeline.attempts) == 3
    labels = {"".join(t.text) for t in page.find("text", cls="row-label")}
    assert labels == {"#1", "#2", "#3"}
    for attempt in result.timeline.attempts:
        (block,) = page.find("details", id=f"scenario-throttled-attempt-{attempt.index}")
        assert block is not None
    assert "QUIT" in page.text and "421 4.7.0 Try again later" in page.text
    colours = [bar.attrs["fill"] for bar in bars]
    assert colours[0] == colours[1] != colours[2]  # server closed twice, then QUIT


def test_every_failed_expectation_is_named_with_its_detail_and_evidence() -> None:
    result = failing()
    page = Page(html_report([result], seed=None))
    callout = next(t for t in page.tags if t.attrs.get("class") == "callout")
    rows = page.find("tr", cls="fails")
    assert len(rows) == len(result.verdict.failures)
    for failure in result.verdict.failures:
        assert failure.detail in page.text
        assert any(failure.name == "".join(t.text) for t in page.find("strong"))
    assert "backoff.floor" in {r.name for r in result.verdict.failures}
    assert "too_early" in page.text  # the evidence, as a table of the early retries
    assert callout is not None
    index = page.find("td", cls="why")
    assert ["".join(t.text) for t in index] == [result.verdict.failures[0].name]


def test_nothing_is_loaded_from_anywhere() -> None:
    document = html_report([failing(), passing()], seed=1)
    page = Page(document)
    for forbidden in ("link", "img", "iframe", "object", "embed", "image", "use"):
        assert not page.find(forbidden), forbidden
    # one script, the package's own, inline; the page's policy lets only it run
    (script,) = page.find("script")
    assert "".join(script.text) == OWN_SCRIPT
    digest = base64.b64encode(hashlib.sha256(OWN_SCRIPT.encode()).digest()).decode()
    (policy,) = [t.attrs["content"] for t in page.find("meta")
                 if t.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert f"script-src 'sha256-{digest}'" in (policy or "")
    assert "default-src 'none'" in (policy or "")
    for tag in page.tags:
        assert "src" not in tag.attrs, tag
        href = tag.attrs.get("href")
        assert href is None or href.startswith("#"), href
    assert "http://" not in document and "https://" not in document
    assert "@import" not in document
    assert re.findall(r"url\(([^)]*)\)", document) == []  # the timeline's open bars use none here


def test_failed_scenarios_come_first_and_links_reach_them() -> None:
    page = Page(html_report([passing("a-pass"), failing(), passing("z-pass")], seed=None))
    cards = [t.attrs["id"] for t in page.find("details", cls="scenario")]
    assert cards == ["scenario-throttled", "scenario-a-pass", "scenario-z-pass"]
    links = [t.attrs["href"] for t in page.tags if t.name == "a"]
    assert links == [f"#{card}" for card in cards]


def test_faults_toxics_handshakes_and_messages_are_marked_with_their_text() -> None:
    page = Page(html_report([failing()], seed=None))

    def titles(cls: str) -> list[str]:
        return [t.title or "" for t in page.tags if cls in (t.attrs.get("class") or "").split()]

    assert len(titles("m-fault")) == 2 and all("421 4.7.0" in t for t in titles("m-fault"))
    assert len(titles("m-toxic")) == 1 and "delaying chunks by 5 ms" in titles("m-toxic")[0]
    assert len(titles("m-tls")) == 1 and "handshake ok" in titles("m-tls")[0]
    assert len(titles("m-message")) == 1 and "<1@harness.test>" in titles("m-message")[0]


def test_delays_stand_beside_the_declared_window_and_the_fitted_policy() -> None:
    result = failing()
    page = Page(html_report([result], seed=None))
    assert len(page.find("rect", cls="window")) == 2 * 2  # on the timeline and in the table
    assert "250.0 ms to 500.0 ms" in page.text  # retry 1: equal jitter over 0.5 s
    assert "500.0 ms to 1.000 s" in page.text  # retry 2: over 1 s
    assert "initial 500.0 ms, factor 2, no cap, jitter equal" in page.text
    assert result.verdict.fitted is not None
    assert result.verdict.fitted.describe() in page.text
    waits = ["".join(t.text) for t in page.find("td", cls="strong")]
    assert waits == ["100.3 ms", "200.3 ms"]  # the clock: 0.1 ms per reading


def test_an_attempt_still_open_fades_out_and_says_so() -> None:
    def record(recorder: Recorder, clock: Clock) -> None:
        n = recorder.open_attempt(("127.0.0.1", 42000))
        recorder.record(n, "fault", "hang", phase="banner", fault="hang", action="stall")
        clock.advance(1.0)

    result = result_of("name: hangs\nexpect: {delivered: never}\n", record)
    document = html_report([result], seed=None)
    page = Page(document)
    (bar,) = page.find("rect", cls="bar")
    assert bar.attrs["fill"] == "url(#scenario-hangs-open-1)"
    assert page.find("lineargradient", id="scenario-hangs-open-1")  # the parser lowercases
    assert "still open" in page.text


def test_a_client_that_never_connected_is_said_in_words() -> None:
    result = result_of("name: silent\nexpect: {delivered: once}\n", lambda r, c: None,
                       ClientResult(None, 30.0, timed_out=True, error="stopped"))
    page = Page(html_report([result], seed=None))
    assert "never connected" in page.text
    assert "stopped at the time limit" in page.text
    assert not page.find("svg", cls="timeline")


def test_a_long_report_unfolds_only_the_failures() -> None:
    results = [passing(f"pass-{i}") for i in range(OPEN_ALL_UP_TO)] + [failing()]
    page = Page(html_report(results, seed=None))
    unfolded = {t.attrs["id"] for t in page.find("details", cls="scenario") if "open" in t.attrs}
    assert unfolded == {"scenario-throttled"}
    short = Page(html_report(results[:2], seed=None))
    assert all("open" in t.attrs for t in short.find("details", cls="scenario"))


def test_write_html_writes_utf8(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(path, [failing()], seed=3)
    text = path.read_text(encoding="utf-8")
    assert "RFC 5321 §4.5.4.1" in Page(text).text
    assert text.startswith("<!DOCTYPE html>")


def test_each_scenario_says_how_to_replay_it_with_its_seed_and_command() -> None:
    command = ["./send mail", "--port", "{port}"]
    result = failing()
    page = Page(html_report([result], seed=None, command=command))
    (replay,) = page.find("pre", cls="replay")
    assert "".join(replay.text) == (f"harness run throttled.yaml --seed {result.seed}"
                                    " -- './send mail' --port '{port}'")
    assert "name: throttled" in page.text  # not a built-in: the scenario as run, to save
    without = Page(html_report([result], seed=None))
    assert "".join(without.find("pre", cls="replay")[0].text).endswith(" -- CLIENT-COMMAND")


def test_a_built_in_scenario_is_replayed_by_its_name() -> None:
    result = result_of("name: no-fault\nexpect: {delivered: once}\n", clean_record)
    page = Page(html_report([result], seed=None, command=["x"]))
    (replay,) = page.find("pre", cls="replay")
    assert "".join(replay.text) == f"harness run no-fault --seed {result.seed} -- x"


def test_each_scenario_shows_the_time_limit_that_applied() -> None:
    page = Page(html_report([passing()], seed=None))
    facts = ["".join(t.text) for card in page.find("span", cls="facts")
             for t in page.inside(card, "span")]
    assert any(fact.startswith("time limit 60.000 s") for fact in facts), facts


def test_a_passed_expectation_does_not_look_like_a_failure() -> None:
    page = Page(html_report([failing()], seed=None))
    for row in page.find("tr"):
        statuses = ["".join(t.text) for t in page.inside(row, "span", cls="status")]
        levels = page.inside(row, "span", cls="level")
        if statuses == ["passed"]:
            (level,) = levels
            assert "quiet" in level.classes and "".join(level.text).endswith(" if it fails")
        elif statuses == ["failed"]:
            (level,) = levels
            assert "quiet" not in level.classes and "".join(level.text) in (
                "violation", "deviation")


def test_the_toolbar_counts_each_outcome_and_every_row_and_card_can_be_filtered() -> None:
    page = Page(html_report([failing(), passing(), passing("other")], seed=None))
    counts = {"".join(label.text).split()[0]: "".join(page.inside(label, "span")[0].text)
              for label in page.find("label")}
    assert counts == {"failed": "1", "not": "0", "inconclusive": "0", "passed": "2"}
    assert [b.attrs.get("class") for b in page.find("button")] == ["expand-all", "collapse-all"]
    outcomes = {"passed", "failed", "not-exercised", "interrupted"}
    for item in [*page.find("details", cls="scenario"), *page.find("tr", cls="row")]:
        assert len(outcomes & set(item.classes)) == 1, item.classes
