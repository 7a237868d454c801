"""A long run folds its closed attempts and its messages into compressed batches: the
timeline read back, every verdict on it, and what the report lists must not change but
for the report's summary of uneventful attempts."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable

import pytest

import harness.timeline as timeline_module
from harness import Recorder
from harness.batch import resolve
from harness.timeline import Timeline, uneventful
from harness.verdicts import Calibration, judge


class Clock:
    """A clock the script sets: each reading is the time the script says it is."""

    def __init__(self) -> None:
        self.now = 5_000_000_000

    def __call__(self) -> int:
        self.now += 1_000  # 1 µs per reading, so events of one instant stay ordered
        return self.now


def _fold_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline_module, "PACK_AFTER", 0)
    monkeypatch.setattr(timeline_module, "FOLD_BATCH", 3)
    monkeypatch.setattr(timeline_module, "_FOLD_DELAY", 2)
    monkeypatch.setattr(timeline_module, "_BLOCK", 4)
    monkeypatch.setattr(timeline_module, "_PACK_AT_CLOSE", 1)  # both ways of closing


def _delivery(recorder: Recorder, clock: Clock, n: int, message_id: str | None, body: bytes,
              *, acknowledged: bool = True) -> None:
    for command, reply in ((b"EHLO client.example\r\n", "250 localhost"),
                           (b"MAIL FROM:<a@example.org>\r\n", "250 OK"),
                           (b"RCPT TO:<b@example.org>\r\n", "250 OK"),
                           (b"DATA\r\n", "354 go ahead")):
        clock.now += 300_000
        recorder.record_command(n, command, False)
        recorder.record_reply(n, reply)
    recorder.record(n, "data", f"{len(body)} bytes of content", bytes=len(body), complete=True)
    recorder.store_message(n, mail_from="a@example.org", rcpt_tos=("b@example.org",),
                           message_id=message_id, raw=body)
    if acknowledged:
        recorder.record_reply(n, f"250 2.0.0 OK queued as {message_id}")
        recorder.record_command(n, b"QUIT\r\n", False)
        recorder.record_reply(n, "221 Bye")


def _script(seed: int) -> Callable[[Recorder, Clock], None]:
    """A run of clean deliveries with every kind of trouble among them: transient and
    permanent refusals, a stored message never acknowledged and its retry, a copy under a
    new Message-ID, a 421 the client talks past, a fault, events written after a close,
    connections overlapping, one left open."""

    def run(recorder: Recorder, clock: Clock) -> None:
        rng = random.Random(seed)
        open_: list[int] = []
        for i in range(90):
            clock.now += rng.randrange(1, 400) * 1_000_000
            n = recorder.open_attempt(("127.0.0.1", 40_000 + i))
            body = b"Subject: m %d\r\n\r\nhello\r\n" % (i // 2 if i % 17 == 3 else i)
            roll = rng.random()
            if roll < 0.6:
                _delivery(recorder, clock, n, f"<{i}@example.org>", body)
                recorder.close_attempt(n, "client-quit")
            elif roll < 0.68:
                recorder.record_command(n, b"EHLO x\r\n", False)
                recorder.record_reply(n, "250 localhost")
                recorder.record_command(n, b"MAIL FROM:<a@example.org>\r\n", False)
                recorder.record(n, "fault", "reply 451 at rcpt", fault="reply", at="rcpt")
                recorder.record_command(n, b"RCPT TO:<b@example.org>\r\n", False)
                recorder.record_reply(n, "451 4.3.0 try again later")
                recorder.close_attempt(n, "client-quit")
            elif roll < 0.74:
                _delivery(recorder, clock, n, f"<{i}@example.org>", body, acknowledged=False)
                recorder.record(n, "fault", "store then drop", fault="store-then-drop")
                recorder.close_attempt(n, "server-reset")
                clock.now += 50_000_000
                retry = recorder.open_attempt(("127.0.0.1", 50_000 + i))
                _delivery(recorder, clock, retry, f"<{i}@example.org>", body)
                recorder.close_attempt(retry, "client-quit")
            elif roll < 0.8:
                _delivery(recorder, clock, n, f"<renamed-{i}@example.org>",
                          b"Subject: same\r\n\r\nx")
                recorder.close_attempt(n, "client-quit")
            elif roll < 0.85:
                recorder.record_reply(n, "421 4.3.2 shutting down")
                recorder.record_command(n, b"MAIL FROM:<a@example.org>\r\n", False)
                recorder.close_attempt(n, "server-close")
            elif roll < 0.9:
                recorder.record_command(n, b"EHLO x\r\n", False)
                recorder.record_reply(n, "554 5.7.1 go away")
                recorder.close_attempt(n, "client-quit")
                recorder.record(n, "toxic", "reset_peer fired late", toxic="reset_peer")
            else:
                open_.append(n)  # stays open a while: its events pack in blocks
                for _ in range(9):
                    recorder.record_command(n, b"NOOP\r\n", False)
                    recorder.record_reply(n, "250 OK")
            if len(open_) > 2:
                n = open_.pop(0)
                recorder.record_command(n, b"QUIT\r\n", False)
                recorder.record_reply(n, "221 Bye")
                recorder.close_attempt(n, "client-quit")

    return run


def _both(script: Callable[[Recorder, Clock], None],
          monkeypatch: pytest.MonkeyPatch) -> tuple[Timeline, Timeline]:
    plain = Recorder(clock=(plain_clock := Clock()))
    script(plain, plain_clock)
    with monkeypatch.context() as patch:
        _fold_everything(patch)
        folded = Recorder(clock=(folded_clock := Clock()))
        script(folded, folded_clock)
        assert plain.progress() == folded.progress()
        return plain.timeline(), folded.timeline()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_folded_timeline_reads_back_the_same(seed: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    plain, folded = _both(_script(seed), monkeypatch)
    assert not plain.folded and folded.folded > 30  # most closed attempts were folded
    assert type(folded.attempts) is not tuple  # built on each read, never all at once
    assert folded.attempts == plain.attempts and folded.messages == plain.messages
    assert folded.origin_ns == plain.origin_ns
    assert list(folded.attempts) == list(plain.attempts)
    assert list(folded.messages) == list(plain.messages)
    assert folded.attempts[-1] == plain.attempts[-1] and folded.attempt(7) == plain.attempt(7)
    assert folded.attempts[2:5] == plain.attempts[2:5]
    late = [a for a in plain.attempts if a.events and a.events[-1].kind == "toxic"]
    assert late, "the script writes an event after a close"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_verdict_decides_the_same_on_a_folded_run(
    seed: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain, folded = _both(_script(seed), monkeypatch)
    decided: set[str] = set()
    judged: set[str] = set()
    for scenario in resolve([]):  # every expectation the catalogue sets
        expect, clients = scenario.expectations(), scenario.clients
        if (key := f"{expect!r} {clients}") in judged:
            continue
        judged.add(key)
        kwargs = {"client_exit": 1, "calibration": Calibration.assumed(), "duration_s": 40.0,
                  "seed": 7, "messages": 1 if seed % 2 else 60, "clients": clients}
        full = judge(plain, expect, **kwargs)  # type: ignore[arg-type]
        summarised = judge(folded, expect, **kwargs)  # type: ignore[arg-type]
        assert [r.to_dict() for r in summarised.results] == [
            r.to_dict() for r in full.results], scenario.name
        decided |= {f"{r.name}:{r.status}" for r in full.results}
    # the timeline is rich enough that verdicts pass and fail on it
    assert any(d.endswith(":failed") for d in decided)
    assert any(d.endswith(":passed") for d in decided)


def test_a_folded_report_lists_the_eventful_attempts_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain, folded = _both(_script(1), monkeypatch)
    full, summary = plain.to_dict(), folded.to_dict()
    assert "summarised" not in full and len(full["attempts"]) == len(plain.attempts)
    clean = [a.index for a in plain.attempts if uneventful(a)]
    listed = [a for a in full["attempts"] if a["index"] not in clean]
    assert clean and summary["attempts"] == listed  # eventful ones in full, as before
    said = summary["summarised"]
    assert said["attempts_not_listed"] == len(clean)
    assert said["messages_not_listed"] == len(full["messages"]) - len(summary["messages"]) > 0
    assert "QUIT" in said["not_listed"] and said["bodies_not_kept"] == 0
    assert all(m["attempt"] not in clean for m in summary["messages"])
    assert f"#{clean[0]} " not in folded.transcript()


def test_uneventful_is_a_clean_delivery_and_nothing_else() -> None:
    clock = Clock()
    recorder = Recorder(clock=clock)
    clean = recorder.open_attempt(None)
    _delivery(recorder, clock, clean, "<1@x>", b"x")
    recorder.close_attempt(clean, "client-quit")
    dropped = recorder.open_attempt(None)
    _delivery(recorder, clock, dropped, "<2@x>", b"x")
    recorder.close_attempt(dropped, "client-close")  # no QUIT
    refused = recorder.open_attempt(None)
    recorder.record_reply(refused, "450 busy")
    recorder.close_attempt(refused, "client-quit")
    faulted = recorder.open_attempt(None)
    recorder.record(faulted, "fault", "delay 0.1 s at mail", fault="delay")
    recorder.close_attempt(faulted, "client-quit")
    twice = recorder.open_attempt(None)
    _delivery(recorder, clock, twice, "<3@x>", b"x", acknowledged=False)
    _delivery(recorder, clock, twice, "<4@x>", b"x")
    recorder.close_attempt(twice, "client-quit")
    assert [uneventful(a) for a in recorder.timeline().attempts] == [
        True, False, False, False, False]


def _message(i: int) -> bytes:
    return (b"Message-ID: <%d.newsletter@example.org>\r\nSubject: issue %d\r\n\r\n" % (i, i)
            + b"Dear reader,\r\n" * 30)


def _bytes_per_message(recorder: Recorder, clock: Clock, count: int) -> float:
    def send(start: int) -> None:
        for i in range(start, start + count):
            n = recorder.open_attempt(("127.0.0.1", 1024 + i % 60_000))
            _delivery(recorder, clock, n, f"<{i}.newsletter@example.org>", _message(i))
            recorder.close_attempt(n, "client-quit")

    send(0)  # past the first batches and the fold delay
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        send(count)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(s.size_diff for s in after.compare_to(before, "filename")) / count


def test_a_folded_run_holds_a_few_hundred_bytes_per_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The budget of docs/performance.md rests on this: past the body budget, a clean
    delivery costs the recorder about 150 bytes (its compressed events and envelope). A
    bound four times that still fails if folding stops (then it is about 2,000)."""
    monkeypatch.setattr(timeline_module, "PACK_AFTER", 0)
    clock = Clock()
    recorder = Recorder(clock=clock, body_budget=0)
    per_message = _bytes_per_message(recorder, clock, 2_000)
    assert per_message < 600, f"{per_message:.0f} bytes per message"
    assert recorder.progress().messages == 4_000 == len(recorder.timeline().messages)
