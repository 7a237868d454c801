"""N05: a pooled sender meets an idle connection closed under it, with ``421 4.4.2`` and a
FIN, or with a reset, when it sends its next MAIL FROM. The bundled client's pool of one
(harness.examples.client) reconnects on a new socket and delivers every message; a pool
that never reconnects loses them. Real sockets, real smtplib."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from harness.examples.client import Policy, Pool, build_message, main, send_all
from harness.faults import FaultSchedule, IdleTimeout
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder, Timeline
from tests.clients.pool_never_reconnects import StickyPool

MESSAGES = 3


@contextmanager
def server(*faults: IdleTimeout) -> Iterator[FakeSMTPServer]:
    with FakeSMTPServer(FaultSchedule(faults, seed=1), recorder=Recorder()) as running:
        yield running


def pooled(running: FakeSMTPServer, pool: type[Pool] = Pool) -> tuple[int, Timeline]:
    messages = [build_message("app@example.org", ["user@example.org"]) for _ in range(MESSAGES)]
    status = send_all(pool(running.host, running.port, Policy(timeout_s=3.0, max_attempts=3)),
                      messages)
    timeline = running.recorder.wait_for(
        lambda t: all(a.end_ns is not None for a in t.attempts), 5.0)
    return status, timeline


def test_control_one_connection_carries_every_message() -> None:
    with server() as running:
        status, timeline = pooled(running)
    assert status == 0
    assert len(timeline.attempts) == 1 and len(timeline.messages) == MESSAGES


@pytest.mark.parametrize("reset", [False, True], ids=["421-and-fin", "reset"])
def test_the_pooled_sender_reconnects_after_an_idle_close(reset: bool) -> None:
    with server(IdleTimeout(reset=reset)) as running:
        status, timeline = pooled(running)
    assert status == 0
    assert len({m.message_id for m in timeline.messages}) == MESSAGES
    assert len(timeline.messages) == MESSAGES  # each once
    assert len(timeline.attempts) == MESSAGES  # a new socket for each message after the first
    closed = [a.closed_by for a in timeline.attempts[:-1]]
    assert closed == (["server-reset"] * 2 if reset else ["server-close"] * 2)
    if not reset:
        assert all(421 in a.reply_codes for a in timeline.attempts[:-1])


def test_a_pool_that_never_reconnects_loses_the_messages() -> None:
    with server(IdleTimeout()) as running:
        status, timeline = pooled(running, StickyPool)
    assert status != 0
    assert len(timeline.attempts) == 1
    assert len(timeline.messages) == 1  # the second and third are lost


@pytest.mark.parametrize("reset", [False, True], ids=["421-and-fin", "reset"])
def test_the_bundled_client_keeps_one_connection_and_recovers_on_a_new_one(
        reset: bool, capsys: pytest.CaptureFixture[str]) -> None:
    """``--messages 3`` from the command line: one connection while it lives, a new one,
    at once, for the message the idle close caught; every message delivered, exit 0."""
    with server(IdleTimeout(after=2, reset=reset)) as running:
        code = main(["--port", str(running.port), "--timeout", "3", "--messages", "3"])
        timeline = running.recorder.wait_for(
            lambda t: len(t.attempts) == 2 and all(a.end_ns is not None for a in t.attempts),
            5.0)
    assert code == 0
    assert [len(a.of_kind("message")) for a in timeline.attempts] == [2, 1]
    assert len({m.message_id for m in timeline.messages}) == MESSAGES
    assert "a new connection at once" in capsys.readouterr().err
