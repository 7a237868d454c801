"""Objects that live on an event loop are touched only through that loop: calibration's
loopback server, opened and closed from many threads at once, never races the loop."""

from __future__ import annotations

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
