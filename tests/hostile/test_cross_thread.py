"""Objects that live on an event loop are touched only through that loop: calibration's
loopback server, opened and closed from many threads at once, and a warm fake server's
plan, swapped from other threads while clients are in session."""

from __future__ import annotations

import smtplib
import threading

import pytest

from harness.verdicts.calibration import _reconnects

pytestmark = pytest.mark.timeout(120)


def test_calibration_hammered_from_threads_never_races_its_loop() -> None:
    errors: list[BaseException] = []
    counts: list[int] = []

    def hammer() -> None:
        try:
            for _ in range(25):
                counts.append(len(_reconnects(samples=2, sleep_s=0.0001)))
        except BaseException as error:  # the failure under test, kept for the assert
            errors.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counts == [2] * 200


def test_plans_swapped_from_threads_while_clients_send_go_through_the_loop(
        caplog: pytest.LogCaptureFixture) -> None:
    # A warm server gets a new plan per run from the test's thread while stragglers of
    # the last run may still be in session on its loop: the swap happens on the loop.
    from harness.faults import Greylist
    from harness.smtp.server import FakeSMTPServer

    errors: list[BaseException] = []
    with FakeSMTPServer() as server:
        on_loop: set[bool] = set()  # whether each forgetting of state ran on the loop
        forget = server._sessions.reset
        loop_thread = server._thread
        assert loop_thread is not None

        def recorded() -> None:
            on_loop.add(loop_thread.is_current())
            forget()

        server._sessions.reset = recorded  # type: ignore[method-assign]

        def swap() -> None:
            try:
                for n in range(40):
                    server.use([Greylist(at="rcpt", seconds=0.01 * (n % 3))])
                    server.reset()
            except BaseException as error:  # kept for the assert below
                errors.append(error)

        def send() -> None:
            for _ in range(20):
                try:
                    with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:
                        smtp.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\nx")
                except (smtplib.SMTPException, OSError):
                    pass  # greylisted, or dropped by a swap: what a straggler sees

        threads = [threading.Thread(target=swap) for _ in range(4)]
        threads += [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        server.use(())
        with smtplib.SMTP(server.host, server.port, timeout=10) as smtp:  # still serving
            assert smtp.noop()[0] == 250
    assert errors == []
    assert on_loop == {True}
    assert [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
