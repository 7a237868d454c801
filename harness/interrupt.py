"""Ctrl-C and SIGTERM for the command line: stop cleanly once, exit at once the second time.

The first signal sets :attr:`Interruption.stop` (runs then end as *interrupted* and the
batch starts nothing new) and stops every client process tree within two seconds, so the
reports can still be written with what finished. A second signal stops the clients at
once and exits with 130 (SIGINT) or 143 (SIGTERM) without waiting for anything.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from harness.outcome import EXIT_INTERRUPTED

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interruption:
    """The signals of one command-line run, as an event the runs watch."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signal: str | None = None

    @contextmanager
    def catching(self) -> Iterator[Interruption]:
        """Handle SIGINT and SIGTERM inside the block (main thread only; elsewhere the
        block runs with the handlers as they are)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.signal(sig, self._handle) for sig in _SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        from harness.clients import stop_all_clients

        name = signal.Signals(signum).name
        if self.stop.is_set():  # the second one: no more waiting
            stop_all_clients(timeout_s=0.0)
            os._exit(EXIT_INTERRUPTED.get(self.signal or name, 130))
        self.signal = name
        self.stop.set()
        threading.Thread(target=stop_all_clients, name="stop clients", daemon=True).start()
