"""N05: a pooled sender meets an idle connection closed under it, with ``421 4.4.2`` and a
FIN, or with a reset, when it sends its next MAIL FROM. The bundled pooled sender
(harness.examples.pooled) reconnects on a new socket and delivers every message; a pool
that never reconnects loses them. Real sockets, real smtplib."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from harness.examples.client import Policy, build_message
from harness.examples.pooled import Pool, send_all
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
    status = send_all(running.host, running.port, messages,
                      Policy(timeout_s=3.0, max_attempts=3), pool=pool)
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
