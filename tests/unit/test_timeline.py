import json
import threading

import pytest

import harness.timeline as timeline_module
from harness import Recorder


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        self.now += 1_000_000  # 1 ms per reading
        return self.now


def test_attempts_events_and_json_in_seconds_from_start() -> None:
    recorder = Recorder(clock=Clock())
    n = recorder.open_attempt(("127.0.0.1", 5000))
    recorder.record(n, "command", "EHLO x")
    recorder.record(n, "reply", "250 ok", code=250)
    recorder.store_message(n, mail_from="a@x", rcpt_tos=("b@y",), message_id="<1@x>", raw=b"hi")
    recorder.close_attempt(n, "client-quit")
    recorder.close_attempt(n, "server-stop")  # the first reason wins
    data = json.loads(recorder.timeline().to_json())
    (attempt,) = data["attempts"]
    assert attempt["index"] == 1 and attempt["closed_by"] == "client-quit"
    assert attempt["start_s"] == 0.001 and attempt["end_s"] == 0.005
    assert [e["kind"] for e in attempt["events"]] == ["accept", "command", "reply", "message"]
    assert data["messages"] == [{"attempt": 1, "t_s": 0.004, "message_id": "<1@x>",
                                 "mail_from": "a@x", "rcpt_to": ["b@y"], "size": 2}]


def test_proxy_and_server_agree_on_attempt_numbers() -> None:
    recorder = Recorder()
    first = recorder.open_attempt(("127.0.0.1", 1111))  # the proxy accepts the client
    recorder.bind_upstream_port(40000, first)
    assert recorder.join_attempt(("127.0.0.1", 40000)) == first  # the server joins it
    assert recorder.join_attempt(("127.0.0.1", 40000)) == 2  # a port is bound only once


def test_wait_for_times_out_with_a_clear_error() -> None:
    with pytest.raises(TimeoutError, match="did not reach"):
        Recorder().wait_for(lambda t: len(t.attempts) > 0, timeout=0.01)


def test_concurrent_writers_lose_nothing() -> None:
    recorder = Recorder()

    def client() -> None:
        n = recorder.open_attempt(None)
        for i in range(100):
            recorder.record(n, "command", f"NOOP {i}")
        recorder.close_attempt(n, "client-quit")

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timeline = recorder.timeline()
    assert sorted(a.index for a in timeline.attempts) == list(range(1, 17))
    assert all(len(a.commands) == 100 for a in timeline.attempts)


def test_reset_starts_numbering_again() -> None:
    recorder = Recorder()
    recorder.open_attempt(None)
    recorder.reset()
    assert recorder.timeline().attempts == ()
    assert recorder.open_attempt(None) == 1


def test_writes_for_an_attempt_from_before_a_reset_are_dropped() -> None:
    recorder = Recorder()
    old = recorder.open_attempt(None)
    recorder.reset()
    recorder.record(old, "command", "late")  # a connection of the previous run, closing
    recorder.close_attempt(old, "client-close")
    recorder.store_message(old, mail_from="a@x", rcpt_tos=(), message_id=None, raw=b"")
    assert recorder.timeline().attempts == () and recorder.timeline().messages == ()


def test_progress_counts_what_a_watcher_needs_without_the_timeline() -> None:
    recorder = Recorder(clock=Clock())
    assert recorder.progress().attempts == 0 and recorder.progress().last_close_ns is None
    first = recorder.open_attempt(None)
    second = recorder.open_attempt(None)
    recorder.record(first, "command", "EHLO x")
    recorder.store_message(first, mail_from="a@x", rcpt_tos=("b@y",), message_id=None, raw=b"")
    recorder.close_attempt(first, "client-quit")
    recorder.close_attempt(first, "server-stop")  # closed once, counted once
    progress = recorder.progress()
    assert (progress.attempts, progress.open_attempts, progress.messages) == (2, 1, 1)
    assert progress.events == 5  # two accepts, a command, a message, a close
    assert progress.last_close_ns == recorder.timeline().attempts[0].end_ns
    recorder.close_attempt(second, "client-close")
    assert recorder.progress().open_attempts == 0
    recorder.reset()
    assert recorder.progress() == recorder.progress().__class__(0, 0, 0, 0, None)


def test_wait_progress_wakes_on_a_close_from_another_thread() -> None:
    recorder = Recorder()
    attempt = recorder.open_attempt(None)
    closer = threading.Thread(target=recorder.close_attempt, args=(attempt, "client-quit"))
    closer.start()
    progress = recorder.wait_progress(lambda p: p.open_attempts == 0, timeout=10)
    closer.join()
    assert progress.attempts == 1 and progress.last_close_ns is not None
    with pytest.raises(TimeoutError, match="did not reach"):
        recorder.wait_progress(lambda p: p.messages > 0, timeout=0.01)


def test_the_hot_path_records_the_same_events_as_record() -> None:
    recorder = Recorder(clock=Clock())
    n = recorder.open_attempt(None)
    recorder.record_command(n, b"MAIL FROM:<a@x>\r\n", True)
    recorder.record_reply(n, "250 2.1.0 OK")
    recorder.record_reply(n, "250-first\n250 last")
    recorder.record_command(n, b"\x00bad\n", False)
    events = recorder.timeline().attempts[0].events[1:]
    assert [(e.kind, e.text, dict(e.data)) for e in events] == [
        ("command", "MAIL FROM:<a@x>", {"bytes": 17, "tls": True}),
        ("reply", "250 2.1.0 OK", {"code": 250}),
        ("reply", "250-first\n250 last", {"code": 250}),
        ("command", "\\x00bad", {"bytes": 5, "tls": False}),
    ]


def test_bodies_past_the_budget_keep_their_size_and_digest_and_the_timeline_says_so() -> None:
    recorder = Recorder(body_budget=10)
    n = recorder.open_attempt(None)
    for body in (b"12345678", b"abcdefgh", b"abcdefgh"):
        recorder.store_message(n, mail_from="a@x", rcpt_tos=("b@y",), message_id=None, raw=body)
    timeline = recorder.timeline()
    first, second, third = timeline.messages
    assert first.kept and first.raw == b"12345678"
    assert not second.kept and second.raw == b"" and second.size == 8
    assert second.digest == third.digest != first.digest  # copies are still told apart
    assert timeline.bodies_not_kept == 2
    data = timeline.to_dict()
    assert data["summarised"]["bodies_not_kept"] == 2
    assert data["messages"][1]["body_kept"] is False and "body_kept" not in data["messages"][0]
    recorder.reset()
    recorder.store_message(recorder.open_attempt(None), mail_from="", rcpt_tos=(),
                           message_id=None, raw=b"12345678")
    assert recorder.timeline().messages[0].kept  # the budget starts again with the run


def test_a_long_run_packs_its_events_and_reads_back_the_same_timeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run(recorder: Recorder) -> None:
        for _ in range(3):
            n = recorder.open_attempt(("127.0.0.1", 5000))
            for i in range(7):
                recorder.record_command(n, f"NOOP {i}\r\n".encode(), False)
                recorder.record_reply(n, "250 OK")
            recorder.record(n, "note", "a fact", detail=[1, "two"])
            recorder.close_attempt(n, "client-quit")
        still_open = recorder.open_attempt(None)
        for _ in range(5):
            recorder.record_command(still_open, b"EHLO x\r\n", False)

    plain = Recorder(clock=Clock())
    run(plain)
    monkeypatch.setattr(timeline_module, "PACK_AFTER", 5)
    monkeypatch.setattr(timeline_module, "_BLOCK", 4)
    packed = Recorder(clock=Clock())
    run(packed)
    assert packed._attempts[1].packed and packed._attempts[4].packed  # closed, and long
    assert packed.timeline() == plain.timeline()
    assert packed.progress() == plain.progress()
