"""Whether a timeline exercised its scenario: each rule, in memory, on recorded timelines.

The end-to-end twins (real clients through ``harness run``) are in tests/cli/test_gate.py.
"""

from __future__ import annotations

import math

from harness.faults import Reply, Reset
from harness.model import Scenario
from harness.serve import QUIET_FLOOR_S, quiet_period
from harness.timeline import Recorder, Timeline
from harness.verdicts import Result
from harness.verdicts.exercised import Situation, not_exercised

RCPT_550 = Reply(at="rcpt", match="bob@", reply="550 5.1.1 No such user")


def _session(*commands: str, fault: Reply | None = None, tls: dict[str, object] | None = None
             ) -> Timeline:
    recorder = Recorder()
    attempt = recorder.open_attempt(("127.0.0.1", 40000))
    for command in commands:
        recorder.record(attempt, "command", command)
        if fault is not None and command.lower().startswith("rcpt") and "bob@" in command:
            recorder.record(attempt, "fault", fault.describe(), phase="rcpt", fault=fault.kind)
    if tls is not None:
        recorder.record(attempt, "tls", "handshake failed", **tls)
    recorder.close_attempt(attempt, "client-quit")
    return recorder.timeline()


def test_no_connection_is_named_with_how_the_client_ended() -> None:
    (why,) = not_exercised(Recorder().timeline(), Situation(address="127.0.0.1:2525"), (),
                           client_note="it exited with code 1 after 0.01 s")
    assert why == ("the client never connected to 127.0.0.1:2525; it exited with code 1"
                   " after 0.01 s")


def test_no_connection_during_an_outage_is_not_exercised_and_says_it_may_have_been_refused(
) -> None:
    """``down`` refuses connections for real: no attempt is recorded whether the client was
    refused or never tried (``harness run -- false``), so neither is judged. After the
    outage, no connection is the plain case."""
    down = Situation(address="127.0.0.1:2525", outage_s=1.0)
    (why,) = not_exercised(Recorder().timeline(), down, (), client_ended_s=0.02,
                           client_note="it exited with code 1 after 0.02 s")
    assert why.startswith("the client never connected to 127.0.0.1:2525 (the service refused"
                          " connections for its first 1 s and the client ended within that")
    assert "whether it tried is unknown" in why and why.endswith("after 0.02 s")
    (why,) = not_exercised(Recorder().timeline(), down, (), client_ended_s=1.5)
    assert why == "the client never connected to 127.0.0.1:2525"
    always = Situation(outage_s=math.inf)
    (why,) = not_exercised(Recorder().timeline(), always, (), client_ended_s=30.0)
    assert "the service refused every connection" in why


def test_a_fault_that_never_matched_names_what_was_sent() -> None:
    timeline = _session("EHLO x", "MAIL FROM:<a@x>", "RCPT TO:<alice@x>", "DATA")
    (why,) = not_exercised(timeline, Situation((RCPT_550,)), ())
    assert "never fired: no RCPT TO on attempt 1 contained 'bob@'" in why
    assert "RCPT TO:<alice@x>" in why


def test_control_twin_a_fault_that_fired_is_exercised() -> None:
    timeline = _session("EHLO x", "MAIL FROM:<a@x>", "RCPT TO:<bob@x>", fault=RCPT_550)
    assert not_exercised(timeline, Situation((RCPT_550,)), ()) == ()


def test_a_body_fault_beyond_the_message_size_says_both_sizes() -> None:
    recorder = Recorder()
    attempt = recorder.open_attempt(None)
    recorder.record(attempt, "data", "512 bytes", bytes=512, complete=True)
    recorder.close_attempt(attempt, "client-quit")
    reset = Reset(at="body", after_bytes=100_000)
    (why,) = not_exercised(recorder.timeline(), Situation((reset,)), ())
    assert "fires after 100,000 bytes of content" in why and "had 512" in why


def test_faults_left_to_chance_or_for_attempts_that_never_came_are_exempt() -> None:
    timeline = _session("EHLO x", "QUIT")
    chance = Reply(at="rcpt", reply="451 4.7.1 Later", probability=0.5)
    later = Reply(at="rcpt", reply="451 4.7.1 Later", attempts="2+")
    assert not_exercised(timeline, Situation((chance, later)), ()) == ()


def test_a_tls_scenario_without_a_client_hello_says_what_came_instead() -> None:
    plaintext = _session(tls={"event": "handshake", "ok": False, "client_hello": False,
                              "first_bytes": "EHLO x"})
    (why,) = not_exercised(plaintext, Situation(tls="implicit"), ())
    assert "spoke plaintext ('EHLO x')" in why
    starttls = _session("EHLO x", "MAIL FROM:<a@x>",
                        tls={"event": "capabilities", "starttls_offered": True})
    (why,) = not_exercised(starttls, Situation(tls="starttls"), ())
    assert why == "the client never issued STARTTLS (it sent: EHLO, MAIL)"


def test_a_starttls_server_that_never_offered_it_asks_no_handshake() -> None:
    """A server that refuses EHLO (or strips STARTTLS) leaves the client no TLS to try."""
    refused = _session("EHLO x", "HELO x", "QUIT",
                       tls={"event": "capabilities", "starttls_offered": False})
    assert not_exercised(refused, Situation(tls="starttls"), ()) == ()


def test_control_twin_a_refused_handshake_still_exercised_tls() -> None:
    refused = _session(tls={"event": "handshake", "ok": False, "client_hello": True,
                            "outcome": "client-rejected-certificate"})
    assert not_exercised(refused, Situation(tls="implicit"), ()) == ()


def test_all_key_checks_skipped_without_a_fault_is_not_exercised() -> None:
    timeline = _session("EHLO x", "QUIT")
    skipped = Result("no-plaintext-fallback", "violation", "skipped", "No TLS was offered.")
    passed = Result("delivered", "violation", "passed", "Delivered once.")
    (why,) = not_exercised(timeline, Situation(), (skipped, passed))
    assert why == "no-plaintext-fallback was skipped: No TLS was offered."
    decided = Result("no-plaintext-fallback", "violation", "passed", "Stayed on TLS.")
    assert not_exercised(timeline, Situation(), (decided, passed)) == ()


def test_serve_waits_for_the_next_retry_the_scenario_allows() -> None:
    plain = Scenario.from_dict({"name": "plain"})
    assert quiet_period(plain) == (QUIET_FLOOR_S, "the default")
    policy = Scenario.from_dict({"name": "slow", "expect": {
        "attempts": {"max": 4}, "backoff": {"initial_s": 2, "factor": 2}}})
    assert quiet_period(policy) == (16.0, "its backoff allows 8 s between attempts")
    greylist = Scenario.from_dict({"name": "grey", "faults": [{"greylist": 30}]})
    assert quiet_period(greylist) == (60.0, "its greylisting lasts 30 s")
