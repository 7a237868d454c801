"""Every fault at every phase where it applies, against a real smtplib client.

Each case schedules its fault on attempt 1 only; attempt 2 on the same server is the
no-fault control twin and must deliver. So every case shows both that the fault does what
it says and that nothing else about the server changed.
"""

from __future__ import annotations

import smtplib
import socket
import threading
import time

import pytest

from harness import FakeSMTPServer, faults
from harness.faults import Fault
from tests.e2e.conftest import ServerFactory, settled

MESSAGE = b"Message-ID: <m1@harness.test>\r\nSubject: test\r\n\r\n" + b"x" * 300 + b"\r\n"
SENDER = "sender@harness.test"
RECIPIENT = "rcpt@harness.test"
PHASES = ("connect", "banner", "ehlo", "mail", "rcpt", "data", "dot", "quit")


def send(server: FakeSMTPServer, *, timeout: float = 5.0,
         recipients: tuple[str, ...] = (RECIPIENT,)) -> Exception | None:
    """Send MESSAGE with smtplib; return the exception it raised, if any."""
    try:
        with smtplib.SMTP(server.host, server.port, timeout=timeout) as client:
            client.sendmail(SENDER, list(recipients), MESSAGE)
    except (smtplib.SMTPException, OSError) as error:
        return error
    return None


def check_control_twin(server: FakeSMTPServer) -> None:
    """Attempt 2 has no fault: it must deliver, and end with the client's QUIT."""
    assert send(server) is None
    timeline = settled(server, attempts=2)
    control = timeline.attempt(2)
    assert control.faults == []
    assert control.closed_by == "client-quit"
    assert [m.attempt for m in timeline.messages][-1] == 2


def test_no_fault_control(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    assert send(server) is None
    attempt = settled(server).attempt(1)
    assert attempt.reply_codes == [220, 250, 250, 250, 354, 250, 221]
    assert [c.lower() for c in attempt.commands[1:]] == [  # smtplib's case varies by version
        f"mail from:<{SENDER}> size={len(MESSAGE)}".lower(), f"rcpt to:<{RECIPIENT}>".lower(),
        "data", "quit",
    ]
    assert attempt.data_bytes == len(MESSAGE)
    assert attempt.closed_by == "client-quit"
    (message,) = server.messages
    assert (message.attempt, message.message_id, message.raw) == (1, "<m1@harness.test>", MESSAGE)
    assert (message.mail_from, message.rcpt_tos) == (SENDER, (RECIPIENT,))


@pytest.mark.parametrize(
    ("phase", "error", "code"),
    [
        ("banner", smtplib.SMTPConnectError, 421),
        # smtplib falls back to HELO on the connection the 421 closed (RFC 5321 §3.8)
        ("ehlo", smtplib.SMTPServerDisconnected, None),
        ("mail", smtplib.SMTPSenderRefused, 421),
        ("rcpt", smtplib.SMTPRecipientsRefused, None),
        ("data", smtplib.SMTPDataError, 421),
        ("dot", smtplib.SMTPDataError, 421),
    ],
)
def test_421_closes_the_connection(
    smtp_server: ServerFactory, phase: str, error: type[Exception], code: int | None
) -> None:
    server = smtp_server([faults.Reply(at=phase, reply="421 4.7.0 Try again later", attempts=1)])  # type: ignore[arg-type]
    raised = send(server)
    assert isinstance(raised, error)
    if code is not None:
        assert getattr(raised, "smtp_code", None) == code
    attempt = settled(server).attempt(1)
    assert attempt.reply_codes[-1] == 421
    assert attempt.closed_by == "server-close"
    assert server.messages == ()
    check_control_twin(server)


@pytest.mark.parametrize(
    ("phase", "reply", "error", "stored"),
    [
        ("banner", "554 5.3.2 No SMTP service here", smtplib.SMTPConnectError, 0),
        ("mail", "451 4.3.0 Local error", smtplib.SMTPSenderRefused, 0),
        ("rcpt", "550 5.1.1 No such user", smtplib.SMTPRecipientsRefused, 0),
        ("data", "554 5.7.1 Transaction failed", smtplib.SMTPDataError, 0),
        ("dot", "451 4.3.0 Try again", smtplib.SMTPDataError, 0),
        ("dot", "552 5.3.4 Too big", smtplib.SMTPDataError, 0),
    ],
)
def test_reply_replaces_the_normal_reply(
    smtp_server: ServerFactory, phase: str, reply: str, error: type[Exception], stored: int
) -> None:
    server = smtp_server([faults.Reply(at=phase, reply=reply, attempts=1)])  # type: ignore[arg-type]
    raised = send(server)
    assert isinstance(raised, error)
    attempt = settled(server).attempt(1)
    assert int(reply[:3]) in attempt.reply_codes
    assert attempt.faults[0].data["phase"] == phase
    assert len(server.messages) == stored
    check_control_twin(server)


def test_multiline_reply_at_ehlo(smtp_server: ServerFactory) -> None:
    server = smtp_server(
        [faults.Reply(at="ehlo", reply=["250-harness", "250 8BITMIME"], attempts=1)]
    )
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        code, text = client.ehlo("client.test")
        assert (code, text) == (250, b"harness\n8BITMIME")
        assert client.has_extn("8bitmime") and not client.has_extn("size")
    check_control_twin(server)


def test_2xx_at_dot_stores_and_then_close_closes(smtp_server: ServerFactory) -> None:
    server = smtp_server(
        [faults.Reply(at="dot", reply="250 2.0.0 Queued", then_close=True, attempts=1)]
    )
    assert send(server) is None  # smtplib ignores the failed QUIT after a 250
    attempt = settled(server).attempt(1)
    assert attempt.reply_codes[-1] == 250
    assert attempt.closed_by == "server-close"
    assert [m.attempt for m in server.messages] == [1]
    check_control_twin(server)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("kind", ["close", "reset"])
def test_close_and_reset_at_every_phase(smtp_server: ServerFactory, phase: str, kind: str) -> None:
    fault: Fault = (faults.Close if kind == "close" else faults.Reset)(at=phase, attempts=1)  # type: ignore[arg-type]
    server = smtp_server([fault])
    raised = send(server)
    if phase == "quit":  # the message was already accepted; smtplib ignores QUIT errors
        assert raised is None
        assert [m.attempt for m in server.messages] == [1]
    else:
        # a reset can beat the end of the client's own connect(): then it is raw ECONNRESET
        expected = (smtplib.SMTPServerDisconnected, ConnectionResetError)
        assert isinstance(raised, expected)
        assert ("reset by peer" in str(raised)) == (kind == "reset")
        assert server.messages == ()
    attempt = settled(server).attempt(1)
    assert attempt.closed_by == ("server-close" if kind == "close" else "server-reset")
    assert attempt.faults[0].data["action"] == "disconnect"
    check_control_twin(server)


@pytest.mark.parametrize("phase", PHASES)
def test_delay_at_every_phase(smtp_server: ServerFactory, phase: str) -> None:
    delay = 0.2
    server = smtp_server([faults.Delay(at=phase, seconds=delay, attempts=1)])  # type: ignore[arg-type]
    started = time.monotonic()
    assert send(server) is None
    assert time.monotonic() - started >= delay  # a lower bound: load only adds to it
    attempt = settled(server).attempt(1)
    (fault,) = attempt.faults
    assert fault.data["action"] == "pause"
    after = [e for e in attempt.events if e.t_ns > fault.t_ns and e.kind == "reply"]
    assert after[0].t_ns - fault.t_ns >= delay * 1e9
    assert [m.attempt for m in server.messages] == [1]
    check_control_twin(server)


@pytest.mark.parametrize("phase", PHASES)
def test_hang_at_every_phase_needs_a_client_timeout(smtp_server: ServerFactory, phase: str) -> None:
    server = smtp_server([faults.Hang(at=phase, attempts=1)])  # type: ignore[arg-type]
    # the timeout must outlast every reply before the hang on a loaded machine (0.3 s
    # fired before RCPT once, so the hang at rcpt never came)
    raised = send(server, timeout=2.0)
    if phase == "quit":
        assert raised is None  # delivered before the hang; smtplib's QUIT times out quietly
    else:
        assert isinstance(raised, (TimeoutError, smtplib.SMTPServerDisconnected))
        assert "timed out" in str(raised)
    attempt = settled(server).attempt(1)
    assert attempt.closed_by == "client-close"
    assert attempt.faults[0].data["action"] == "stall"
    check_control_twin(server)


@pytest.mark.parametrize(
    ("fault", "closed_by", "error"),
    [
        (faults.Close(at="body", after_bytes=100, attempts=1), "server-close",
         smtplib.SMTPServerDisconnected),
        (faults.Reset(at="body", after_bytes=100, attempts=1), "server-reset",
         smtplib.SMTPServerDisconnected),
        (faults.Reply(at="body", after_bytes=100, reply="552 5.3.4 Too much", attempts=1),
         "server-close", smtplib.SMTPDataError),
    ],
    ids=["close", "reset", "reply"],
)
def test_body_faults_cut_at_the_byte_offset(
    smtp_server: ServerFactory, fault: Fault, closed_by: str, error: type[Exception]
) -> None:
    server = smtp_server([fault])
    assert isinstance(send(server), error)
    attempt = settled(server).attempt(1)
    assert attempt.closed_by == closed_by
    assert attempt.faults[0].data["offset"] == 100
    assert attempt.of_kind("data")[0].data == {"bytes": 100, "complete": False}
    assert server.messages == ()
    check_control_twin(server)


def test_body_delay_pauses_reading_then_delivers(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.Delay(at="body", after_bytes=100, seconds=0.2, attempts=1)])
    started = time.monotonic()
    assert send(server) is None
    assert time.monotonic() - started >= 0.2
    attempt = settled(server).attempt(1)
    assert attempt.data_bytes == len(MESSAGE)
    assert server.messages[0].raw == MESSAGE
    check_control_twin(server)


def test_body_hang_counts_bytes_but_never_answers(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.Hang(at="body", after_bytes=100, attempts=1)])
    raised = send(server, timeout=0.3)
    assert isinstance(raised, smtplib.SMTPServerDisconnected) and "timed out" in str(raised)
    attempt = settled(server).attempt(1)
    assert attempt.of_kind("data")[0].data == {"bytes": len(MESSAGE), "complete": True}
    assert server.messages == ()
    check_control_twin(server)


def test_store_then_drop_keeps_the_message_and_drops_before_250(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([faults.StoreThenDrop(attempts=1)])
    assert isinstance(send(server), smtplib.SMTPServerDisconnected)
    attempt = settled(server).attempt(1)
    assert 250 not in attempt.reply_codes[4:]  # no 250 after the 354
    assert attempt.closed_by == "server-close"
    assert [m.attempt for m in server.messages] == [1]
    check_control_twin(server)  # the retry is the duplicate RFC 1047 warns about
    assert len(server.messages) == 2


def test_match_fires_only_for_the_matching_recipient(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.Reply(at="rcpt", match="bob@", reply="550 5.1.1 No such user")])
    assert send(server, recipients=("alice@harness.test", "bob@harness.test")) is None
    (message,) = server.messages
    assert message.rcpt_tos == ("alice@harness.test",)
    assert settled(server).attempt(1).reply_codes == [220, 250, 250, 250, 550, 354, 250, 221]


def test_greylist_defers_the_triplet_until_the_window_passed(smtp_server: ServerFactory) -> None:
    window = 1.0  # the second try must land inside it: four round trips, on a loaded machine
    server = smtp_server([faults.Greylist(seconds=window)])
    first = send(server)
    assert isinstance(first, smtplib.SMTPRecipientsRefused)
    assert first.recipients[RECIPIENT][0] == 451
    assert isinstance(send(server), smtplib.SMTPRecipientsRefused)  # still inside the window
    time.sleep(window)  # the client's backoff: the behaviour under test, not synchronisation
    assert send(server) is None
    timeline = settled(server, attempts=3)
    assert [m.attempt for m in timeline.messages] == [3]


def test_greylist_control_twin_other_triplet_is_greylisted_on_its_own(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([faults.Greylist(seconds=60)])
    assert isinstance(send(server), smtplib.SMTPRecipientsRefused)
    other = send(server, recipients=("other@harness.test",))
    assert isinstance(other, smtplib.SMTPRecipientsRefused)
    assert server.messages == ()


def test_connection_limit_refuses_the_connection_above_the_limit(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server([faults.ConnectionLimit(max_connections=1)])
    with smtplib.SMTP(server.host, server.port, timeout=5) as holder:
        assert holder.noop()[0] == 250
        raised = send(server)
        assert isinstance(raised, smtplib.SMTPConnectError) and raised.smtp_code == 421
    settled(server, attempts=2)
    assert send(server) is None  # control: the holder is gone, so the limit is not reached


def test_connection_limit_turns_away_the_later_of_two_connections_accepted_together(
    smtp_server: ServerFactory,
) -> None:
    """Two connections accepted in one turn of the server's loop are both open before
    either is greeted: the earlier keeps its place, only the later gets the 421 (both
    were turned away once, leaving a two-client scenario with nothing to test)."""
    server = smtp_server([faults.ConnectionLimit(max_connections=1)])
    loop_held, release = threading.Event(), threading.Event()

    def hold() -> None:
        loop_held.set()
        release.wait(10)

    server._thread.loop.call_soon_threadsafe(hold)  # type: ignore[union-attr]
    assert loop_held.wait(10)
    with socket.create_connection((server.host, server.port), timeout=5) as first, \
            socket.create_connection((server.host, server.port), timeout=5) as second:
        release.set()  # both wait in the listen backlog: the loop accepts them together
        assert sorted(s.recv(1024)[:3] for s in (first, second)) == [b"220", b"421"]


def test_connection_limit_counts_a_session_stalled_mid_body(smtp_server: ServerFactory) -> None:
    """A session the server hung mid-message (it reads nothing more) still holds its
    connection: the next one is turned away, as one held by a slow transfer would be."""
    server = smtp_server([faults.ConnectionLimit(max_connections=1),
                          faults.Hang(at="body", after_bytes=16, attempts=1)])
    with socket.create_connection((server.host, server.port), timeout=5) as holder, \
            holder.makefile("rb") as reader:
        assert reader.readline()[:3] == b"220"
        for line, code in ((b"EHLO holder.example", b"250"),
                           (b"MAIL FROM:<a@example.org>", b"250"),
                           (b"RCPT TO:<b@example.org>", b"250"), (b"DATA", b"354")):
            holder.sendall(line + b"\r\n")
            while (reply := reader.readline())[3:4] == b"-":
                pass
            assert reply[:3] == code, reply
        holder.sendall(b"Subject: held\r\n\r\n" + b"x" * 64 + b"\r\n")
        server.recorder.wait_for(lambda t: bool(t.attempts and t.attempts[0].faults), 10)
        raised = send(server)
        assert isinstance(raised, smtplib.SMTPConnectError) and raised.smtp_code == 421


def test_rate_limit_answers_421_to_mail_after_k_messages(smtp_server: ServerFactory) -> None:
    server = smtp_server([faults.RateLimit(messages=2, window_s=60)])
    assert send(server) is None
    assert send(server) is None  # control: under the limit
    raised = send(server)
    assert isinstance(raised, smtplib.SMTPSenderRefused) and raised.smtp_code == 421
    assert settled(server, attempts=3).attempt(3).closed_by == "server-close"
    assert len(server.messages) == 2


def test_probability_replays_with_the_same_seed(smtp_server: ServerFactory) -> None:
    def fired(seed: int) -> list[int]:
        server = smtp_server(
            [faults.Reply(at="banner", reply="421 4.7.0 Busy", probability=0.5)], seed=seed
        )
        for _ in range(12):
            send(server)
        timeline = settled(server, attempts=12)
        return [a.index for a in timeline.attempts if a.faults]

    first = fired(seed=1234)
    assert 0 < len(first) < 12
    assert fired(seed=1234) == first


def test_commands_sent_after_a_421_are_recorded_not_answered(smtp_server: ServerFactory) -> None:
    """The server half-closes after 421: a client that carries on is seen doing so."""
    import socket

    from harness.verdicts.checks import closes_after_421

    server = smtp_server([faults.Reply(at="mail", reply="421 4.7.0 Bye", attempts=1)])
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        stream = sock.makefile("rb")
        stream.readline()
        sock.sendall(b"EHLO x\r\n")
        while stream.readline()[3:4] == b"-":
            pass
        sock.sendall(b"MAIL FROM:<a@harness.test>\r\n")
        assert stream.readline().startswith(b"421")
        assert stream.read() == b""  # EOF: the server is done talking
        sock.sendall(b"RCPT TO:<b@harness.test>\r\n")  # the bug: carrying on regardless
        stream.close()
    attempt = settled(server).attempt(1)
    assert attempt.commands[-1] == "RCPT TO:<b@harness.test>"
    assert attempt.reply_codes[-1] == 421 and attempt.closed_by == "server-close"
    assert closes_after_421(settled(server)).status == "failed"

    control = smtp_server([faults.Reply(at="mail", reply="421 4.7.0 Bye", attempts=1)])
    assert isinstance(send(control), smtplib.SMTPSenderRefused)  # smtplib closes on 421
    assert closes_after_421(settled(control)).status == "passed"
