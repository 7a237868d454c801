"""delivered, delivered.all, duplicate-risk, attempts, no-retry-after-permanent,
closes-after-421, gives-up-within and client-exit, each passing, failing and where it
applies, undecided."""

from __future__ import annotations

import pytest

from harness.verdicts import checks
from harness.verdicts.calibration import Calibration
from harness.verdicts.spec import AttemptBounds
from harness.verdicts.workload import every_message
from tests.verdicts.script import Script

QUIET = Calibration(samples=200, sleep_s=0.001, p50_s=0.0002, p99_s=0.001, q_s=0.002)


def dropped_after_store(s: Script, t: float, message_id: str = "<m1@test>") -> int:
    """The synchronisation gap: the message is stored, the connection drops before 250."""
    a = s.attempt(t)
    s.command(a, "MAIL FROM:<a@example.org>", t + 0.001).reply(a, "250 ok")
    s.command(a, "DATA", t + 0.002).reply(a, "354 go on").body(a, t + 0.003)
    s.fault(a, "store-then-drop", "dot", "storeanddisconnect", t + 0.004).store(a, message_id)
    s.close(a, "server-close", t + 0.005)
    return a


# -- delivered --------------------------------------------------------------------------


def test_delivered_once_passes_one_copy() -> None:
    s = Script()
    s.banner_421(0.0)
    s.delivery(0.2)
    r = checks.delivered(s.timeline(), "once")
    assert (r.name, r.level, r.status) == ("delivered", "violation", "passed")
    assert r.evidence["copies"] == {"<m1@test>": [2]}


def test_delivered_once_fails_without_a_copy_and_cites_the_rfc() -> None:
    s = Script()
    s.banner_421(0.0)
    r = checks.delivered(s.timeline(), "once")
    assert r.status == "failed"
    assert "RFC 5321 §4.5.4.1" in r.detail


def test_delivered_once_fails_a_second_copy_after_an_acknowledged_one() -> None:
    s = Script()
    s.delivery(0.0)
    s.delivery(0.5)
    r = checks.delivered(s.timeline(), "once")
    assert r.status == "failed"
    assert r.evidence["duplicates"] == {"<m1@test>": [1, 2]}
    assert checks.duplicate_risk(s.timeline()) is None


def test_a_copy_after_the_synchronisation_gap_is_duplicate_risk_not_a_violation() -> None:
    s = Script()
    dropped_after_store(s, 0.0)
    s.delivery(0.5)
    assert checks.delivered(s.timeline(), "once").status == "passed"
    risk = checks.duplicate_risk(s.timeline())
    assert risk is not None
    assert (risk.level, risk.status) == ("advisory", "failed")
    assert risk.evidence["unacknowledged_attempts"] == [1]
    assert "RFC 1047" in risk.detail


def test_the_gap_excuses_one_extra_copy_per_drop_not_more() -> None:
    s = Script()
    dropped_after_store(s, 0.0)
    s.delivery(0.5)
    s.delivery(1.0)
    assert checks.delivered(s.timeline(), "once").status == "failed"


def test_duplicate_risk_passes_when_the_client_did_not_resend() -> None:
    s = Script()
    dropped_after_store(s, 0.0)
    risk = checks.duplicate_risk(s.timeline())
    assert risk is not None and risk.status == "passed"
    assert checks.delivered(s.timeline(), "once").status == "passed"


def test_messages_without_message_id_are_told_apart_by_content() -> None:
    s = Script()
    s.delivery(0.0, message_id=None)
    s.delivery(0.5, message_id=None)
    r = checks.delivered(s.timeline(), "once")
    assert r.status == "failed"
    (key,) = r.evidence["copies"]
    assert key.startswith("sha256:")


def test_at_least_once_and_never() -> None:
    s = Script()
    s.delivery(0.0)
    s.delivery(0.5)
    assert checks.delivered(s.timeline(), "at-least-once").status == "passed"
    assert checks.delivered(s.timeline(), "never").status == "failed"
    empty = Script()
    empty.banner_421(0.0)
    assert checks.delivered(empty.timeline(), "never").status == "passed"
    assert checks.delivered(empty.timeline(), "at-least-once").status == "failed"


# -- attempts ---------------------------------------------------------------------------


def three_attempts() -> Script:
    s = Script()
    s.banner_421(0.0)
    s.banner_421(0.1)
    s.delivery(0.3)
    return s


def test_attempts_within_bounds() -> None:
    r = checks.attempts(three_attempts().timeline(), AttemptBounds(min=2, max=3))
    assert (r.level, r.status) == ("violation", "passed")


def test_too_many_attempts_is_a_violation() -> None:
    r = checks.attempts(three_attempts().timeline(), AttemptBounds(max=2))
    assert (r.level, r.status) == ("violation", "failed")
    assert r.evidence["attempts"] == 3


def test_too_few_attempts_after_a_transient_failure_is_a_deviation() -> None:
    s = Script()
    s.banner_421(0.0)
    s.banner_421(0.1)
    r = checks.attempts(s.timeline(), AttemptBounds(min=3))
    assert (r.level, r.status) == ("deviation", "failed")
    assert "attempt 2) ended with reply 421 and it did not try again" in r.detail
    assert "RFC 5321 §4.2.1" in r.detail


def test_too_few_attempts_after_a_delivery_is_skipped_not_blamed() -> None:
    r = checks.attempts(three_attempts().timeline(), AttemptBounds(min=4))
    assert (r.level, r.status) == ("deviation", "skipped")
    assert "delivered the message: nothing made it retry" in r.detail
    assert "gave up" not in r.detail


def test_no_attempt_is_never_blamed_for_giving_up() -> None:
    """0 attempts: every check that needs one says the client never connected."""
    t = Script().timeline()
    once = checks.delivered(t, "once")
    assert (once.status, once.detail) == (
        "failed", "The client never connected, so no message was delivered.")
    results = [checks.attempts(t, AttemptBounds(min=3)),
               checks.delivered(t, "never"), checks.closes_after_421(t),
               checks.no_retry_after_permanent(t),
               checks.gives_up_within(t, 1.0, QUIET, None)]
    for r in results:
        assert r.status == "skipped", r
        assert "never connected" in r.detail
        assert "gave up" not in r.detail


# -- no-retry-after-permanent -------------------------------------------------------------


def rejected_at(verb: str, line: str, *, retry: bool, sender: str = "a@example.org") -> Script:
    s = Script()
    a = s.attempt(0.0)
    s.reply(a, "220 ready", 0.001).command(a, "EHLO c", 0.002).reply(a, "250 ok")
    s.command(a, "MAIL FROM:<a@example.org>", 0.003)
    if verb == "MAIL":
        s.reply(a, line)
    else:
        s.reply(a, "250 ok").command(a, "RCPT TO:<b@example.org>", 0.004)
        s.reply(a, line if verb == "RCPT" else "250 ok")
        if verb in ("DATA", "DOT"):
            s.command(a, "DATA", 0.005).reply(a, line if verb == "DATA" else "354 go")
        if verb == "DOT":
            s.body(a, 0.006).reply(a, line, 0.007)
    s.command(a, "QUIT", 0.01).reply(a, "221 bye").close(a, "client-quit", 0.011)
    if retry:
        b = s.attempt(0.5)
        s.reply(b, "220 ready", 0.501).command(b, f"MAIL FROM:<{sender}>", 0.502)
        s.reply(b, "250 ok").close(b, "client-close", 0.503)
    return s


@pytest.mark.parametrize("verb", ["MAIL", "RCPT", "DATA", "DOT"])
def test_a_retry_after_a_permanent_rejection_fails(verb: str) -> None:
    r = checks.no_retry_after_permanent(rejected_at(verb, "550 5.1.1 no", retry=True).timeline())
    assert (r.level, r.status) == ("deviation", "failed")
    assert r.evidence["rejected"] == verb
    assert r.evidence["later_attempts"] == [2]
    assert "RFC 5321 §4.2.1" in r.detail


@pytest.mark.parametrize("verb", ["MAIL", "RCPT", "DATA", "DOT"])
def test_stopping_after_a_permanent_rejection_passes(verb: str) -> None:
    r = checks.no_retry_after_permanent(rejected_at(verb, "554 5.7.1 no", retry=False).timeline())
    assert r.status == "passed"


def test_a_transient_rejection_is_not_permanent() -> None:
    r = checks.no_retry_after_permanent(rejected_at("MAIL", "451 4.3.0 later", retry=True)
                                        .timeline())
    assert r.status == "skipped"


def test_another_message_after_a_rejection_is_not_a_retry() -> None:
    s = rejected_at("MAIL", "550 5.1.0 no", retry=True, sender="other@example.org")
    assert checks.no_retry_after_permanent(s.timeline()).status == "passed"


def partly_refused(s: Script, t: float, *recipients: str) -> int:
    a = s.attempt(t)
    s.reply(a, "220 ready", t + 0.001).command(a, "MAIL FROM:<a@example.org>", t + 0.002)
    s.reply(a, "250")
    for i, rcpt in enumerate(recipients):
        s.command(a, f"RCPT TO:<{rcpt}>", t + 0.003 + i * 0.0001)
        s.reply(a, "550 5.1.1 unknown" if rcpt.startswith("x@") else "250 ok")
    s.command(a, "DATA", t + 0.005).reply(a, "354 go").close(a, "client-close", t + 0.006)
    return a


def test_a_refused_recipient_among_several_is_not_given_again() -> None:
    s = Script()
    partly_refused(s, 0.0, "x@example.org", "y@example.org")
    r = checks.no_retry_after_permanent(s.timeline())
    assert r.status == "passed"
    assert r.evidence["recipients"] == ["x@example.org"]
    s = Script()
    partly_refused(s, 0.0, "x@example.org", "y@example.org")
    partly_refused(s, 0.5, "x@example.org", "y@example.org")
    r = checks.no_retry_after_permanent(s.timeline())
    assert r.status == "failed"
    assert r.evidence["given_again"] == ["#2 RCPT TO:<x@example.org>"]


def test_a_single_recipient_client_is_skipped_with_the_reason() -> None:
    s = Script()
    s.delivery(0.0)
    r = checks.no_retry_after_permanent(s.timeline())
    assert r.status == "skipped"
    assert "only one recipient was given ('RCPT TO:<b@example.org>')" in r.detail


def test_a_permanent_greeting_forbids_any_later_connection() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.fault(a, "reply", "banner", "send", 0.001).reply(a, "554 5.3.2 no service")
    s.command(a, "QUIT", 0.002).reply(a, "221 bye").close(a, "client-quit", 0.003)
    s.attempt(1.0)
    r = checks.no_retry_after_permanent(s.timeline())
    assert (r.status, r.evidence["rejected"]) == ("failed", "BANNER")


def test_repeating_the_rejected_mail_on_the_same_connection_fails() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.reply(a, "220 ready", 0.001).command(a, "MAIL FROM:<a@example.org>", 0.002)
    s.reply(a, "550 no").command(a, "RSET", 0.003).reply(a, "250 ok")
    s.command(a, "MAIL FROM:<a@example.org>", 0.004).reply(a, "550 no")
    r = checks.no_retry_after_permanent(s.timeline())
    assert r.status == "failed"
    assert r.evidence["retried_on_same_connection"] == ["#1 MAIL FROM:<a@example.org>"]


# -- closes-after-421 ---------------------------------------------------------------------


def after_421(*commands: str) -> Script:
    s = Script()
    a = s.attempt(0.0)
    s.reply(a, "220 ready", 0.001).command(a, "MAIL FROM:<a@example.org>", 0.002)
    s.reply(a, "421 4.7.0 closing", 0.003)
    for i, text in enumerate(commands):
        s.command(a, text, 0.004 + i / 1000)
    s.close(a, "server-close", 0.01)
    return s


def test_quit_after_421_is_fine() -> None:
    r = checks.closes_after_421(after_421("QUIT").timeline())
    assert (r.level, r.status) == ("violation", "passed")


def test_a_command_after_421_fails_with_the_commands_as_evidence() -> None:
    r = checks.closes_after_421(after_421("RCPT TO:<b@example.org>", "DATA").timeline())
    assert r.status == "failed"
    assert r.evidence["commands_after_421"] == ["RCPT TO:<b@example.org>", "DATA"]
    assert "RFC 5321 §3.8" in r.detail


def test_closes_after_421_is_skipped_without_a_421() -> None:
    s = Script()
    s.delivery(0.0)
    assert checks.closes_after_421(s.timeline()).status == "skipped"


# -- gives-up-within ---------------------------------------------------------------------


def test_gives_up_within_passes_inside_the_bound() -> None:
    r = checks.gives_up_within(three_attempts().timeline(), 1.0, QUIET, None)
    assert (r.level, r.status) == ("violation", "passed")
    assert r.evidence["span_s"] == pytest.approx(0.3011)


def test_gives_up_within_is_inconclusive_in_the_noise_band_and_fails_beyond() -> None:
    # span 0.3011 s; bound 0.2 -> slack 0.07 -> band up to 0.34
    assert checks.gives_up_within(three_attempts().timeline(), 0.2, QUIET, None).status \
        == "inconclusive"
    r = checks.gives_up_within(three_attempts().timeline(), 0.1, QUIET, None)
    assert r.status == "failed"
    assert r.evidence["last_attempt"] == 3


def test_an_open_last_attempt_is_judged_at_the_end_of_the_observation() -> None:
    s = Script()
    s.banner_421(0.0)
    s.attempt(0.2)  # still connected
    assert checks.gives_up_within(s.timeline(), 10.0, QUIET, 1.0).status == "inconclusive"
    r = checks.gives_up_within(s.timeline(), 1.0, QUIET, 5.0)
    assert (r.status, r.evidence["still_open"]) == ("failed", True)


def test_an_attempt_closed_by_stopping_the_server_had_not_given_up() -> None:
    s = Script()
    s.banner_421(0.0)
    a = s.attempt(0.2)
    s.close(a, "server-stop", 0.5)
    r = checks.gives_up_within(s.timeline(), 10.0, QUIET, None)
    assert (r.status, r.evidence["still_open"]) == ("inconclusive", True)
    assert checks.gives_up_within(s.timeline(), 0.1, QUIET, None).status == "failed"




# -- client-exit --------------------------------------------------------------------------


def test_client_exit() -> None:
    assert checks.client_exit("zero", None).status == "skipped"
    assert checks.client_exit("zero", 0).status == "passed"
    assert checks.client_exit("non-zero", 2).status == "passed"
    assert checks.client_exit("zero", 1).status == "failed"
    r = checks.client_exit("non-zero", 0)
    assert (r.level, r.status) == ("violation", "failed")
    assert r.evidence == {"expected": "non-zero", "exit_code": 0}


# -- copies by content --------------------------------------------------------------------


def resent(message_id: str, date: str) -> bytes:
    return (f"From: a@example.org\r\nTo: b@example.org\r\nDate: {date}\r\n"
            f"Message-ID: {message_id}\r\nSubject: report\r\n"
            'Content-Type: multipart/mixed; boundary="==b{0}=="\r\n\r\n'
            "--==b{0}==\r\n\r\nthe body\r\n--==b{0}==--\r\n").replace(
                "{0}", message_id[2:4]).encode()


def test_same_content_under_a_new_message_id_is_a_copy_and_not_excused() -> None:
    """The re-sender: each attempt rebuilds the message (new Message-ID, Date, MIME
    boundary) and the server stores it before dropping the connection."""
    s2 = Script()
    for i in range(3):
        a = s2.attempt(i * 0.5)
        s2.command(a, "DATA", i * 0.5 + 0.001).reply(a, "354 go on").body(a, i * 0.5 + 0.002)
        s2.fault(a, "store-then-drop", "dot", "storeanddisconnect", i * 0.5 + 0.003)
        s2.store(a, f"<{i}{i}x@test>", raw=resent(f"<{i}{i}x@test>", f"Mon, {i} Jan 2026"))
        s2.close(a, "server-close", i * 0.5 + 0.004)
    timeline = s2.timeline()
    r = checks.delivered(timeline, "once")
    assert r.status == "failed"
    assert r.evidence["duplicates"] == {"<00x@test>": [1, 2, 3]}
    assert "new Message-ID" in r.detail and "RFC 5322 §3.6.4" in r.detail
    risk = checks.duplicate_risk(timeline)
    assert risk is not None and risk.status == "failed"
    assert "3 copies" in risk.detail and risk.evidence["copies"] == {"<00x@test>": [1, 2, 3]}


def test_copies_keeping_their_message_id_in_the_gap_are_excused() -> None:
    s = Script()
    for i in range(3):
        dropped_after_store(s, i * 0.5, message_id="<same@test>")
    assert checks.delivered(s.timeline(), "once").status == "passed"
    risk = checks.duplicate_risk(s.timeline())
    assert risk is not None and risk.status == "failed" and "3 copies" in risk.detail


def test_different_content_is_not_a_copy() -> None:
    s = Script()
    s.delivery(0.0, message_id="<a@test>")
    a = s.attempt(0.5)
    s.store(a, "<b@test>", raw=b"Subject: another\r\n\r\nother text\r\n").reply(a, "250 ok")
    assert checks.delivered(s.timeline(), "once").status == "passed"


# -- AUTH and permanence ------------------------------------------------------------------


def refused_login(s: Script, t: float, *replies: str) -> int:
    """An attempt whose AUTH commands get ``replies``; after a 235 it sends a message."""
    a = s.attempt(t)
    s.reply(a, "220 ready", t + 0.001).command(a, "EHLO c", t + 0.002).reply(a, "250 ok")
    for i, line in enumerate(replies):
        s.command(a, "AUTH PLAIN dXNlcgB1c2VyAHNlY3JldA==", t + 0.003 + i * 0.0001)
        s.reply(a, line)
    if replies[-1].startswith("235"):
        s.command(a, "MAIL FROM:<a@example.org>", t + 0.004).reply(a, "250 ok")
    s.command(a, "QUIT", t + 0.005).reply(a, "221 bye").close(a, "client-quit", t + 0.006)
    return a


def test_a_new_connection_after_535_to_auth_is_a_retry_of_the_credentials() -> None:
    s = Script()
    refused_login(s, 0.0, "535 5.7.8 Authentication credentials invalid")
    refused_login(s, 0.5, "535 5.7.8 Authentication credentials invalid")
    r = checks.no_retry_after_permanent(s.timeline())
    assert (r.status, r.evidence["rejected"], r.evidence["later_attempts"]) == (
        "failed", "AUTH", [2])
    assert "the same credentials again on attempts 2" in r.detail and "RFC 4954" in r.detail
    s = Script()
    refused_login(s, 0.0, "535 5.7.8 Authentication credentials invalid")
    assert checks.no_retry_after_permanent(s.timeline()).status == "passed"


def test_another_mechanism_that_succeeds_after_504_is_no_permanent_failure() -> None:
    s = Script()
    refused_login(s, 0.0, "504 5.5.4 Unrecognized authentication type", "235 2.7.0 ok")
    s.delivery(0.5)
    r = checks.no_retry_after_permanent(s.timeline())
    assert r.status == "skipped"


def test_a_454_to_auth_is_transient() -> None:
    s = Script()
    refused_login(s, 0.0, "454 4.7.0 Temporary authentication failure")
    refused_login(s, 0.5, "235 2.7.0 ok")
    assert checks.no_retry_after_permanent(s.timeline()).status == "skipped"


# -- one message, several transactions ------------------------------------------------------


def split_delivery(s: Script, t: float, *, rest: bool) -> None:
    """Two recipients accepted, the third deferred with 452; the rest later, if ``rest``."""
    a = s.attempt(t)
    s.reply(a, "220 ready", t + 0.0001).command(a, "MAIL FROM:<a@example.org>", t + 0.0002)
    s.reply(a, "250 ok")
    for i, (rcpt, line) in enumerate([("b@example.org", "250 ok"), ("c@example.org", "250 ok"),
                                      ("d@example.org", "452 4.5.3 Too many recipients")]):
        s.command(a, f"RCPT TO:<{rcpt}>", t + 0.0003 + i * 0.00001).reply(a, line)
    s.command(a, "DATA", t + 0.0004).reply(a, "354 go").body(a, t + 0.0005)
    s.at(t + 0.0006).recorder.store_message(a, mail_from="a@example.org",
                                            rcpt_tos=("b@example.org", "c@example.org"),
                                            message_id="<m1@test>", raw=b"Subject: x\r\n\r\nhi\r\n")
    s.reply(a, "250 2.0.0 OK", t + 0.0007)
    if rest:
        s.command(a, "MAIL FROM:<a@example.org>", t + 0.0008).reply(a, "250 ok")
        s.command(a, "RCPT TO:<d@example.org>", t + 0.0009).reply(a, "250 ok")
        s.command(a, "DATA", t + 0.001).reply(a, "354 go").body(a, t + 0.0011)
        s.at(t + 0.0012).recorder.store_message(a, mail_from="a@example.org",
                                                rcpt_tos=("d@example.org",),
                                                message_id="<m1@test>",
                                                raw=b"Subject: x\r\n\r\nhi\r\n")
        s.reply(a, "250 2.0.0 OK", t + 0.0013)
    s.command(a, "QUIT", t + 0.002).reply(a, "221 bye").close(a, "client-quit", t + 0.003)


def test_a_message_split_over_transactions_is_delivered_once_to_each_recipient() -> None:
    s = Script()
    split_delivery(s, 0.0, rest=True)
    r = checks.delivered(s.timeline(), "once")
    assert r.status == "passed" and "in 2 transactions" in r.detail


def test_a_recipient_left_over_after_452_fails_delivered() -> None:
    s = Script()
    split_delivery(s, 0.0, rest=False)
    r = checks.delivered(s.timeline(), "once")
    assert r.status == "failed"
    assert r.evidence["recipients_left_over"] == ["d@example.org"]
    assert r.detail.startswith("d@example.org never got the message")


def test_the_same_recipients_twice_are_still_a_duplicate() -> None:
    s = Script()
    split_delivery(s, 0.0, rest=True)
    s.delivery(0.5)  # b@example.org again, under the same Message-ID
    assert checks.delivered(s.timeline(), "once").status == "failed"


# -- delivered.all with messages refused for good ------------------------------------------


@pytest.mark.parametrize(("stored", "status"), [
    (["<m1@test>", "<m3@test>"], "passed"),
    (["<m1@test>"], "failed"),  # the third never tried: the refusal was cached
    (["<m1@test>", "<m2@test>", "<m3@test>"], "failed"),  # the refused one sent again
])
def test_every_message_but_the_refused_ones(stored: list[str], status: str) -> None:
    s = Script()
    for i, message_id in enumerate(stored):
        s.delivery(i * 0.5, message_id)
    r = every_message(s.timeline(), "once", 3, refused=1)
    assert (r.name, r.status, r.evidence["expected"]) == ("delivered.all", status, 2)
