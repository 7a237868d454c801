"""An asyncio event loop on a thread of its own, so synchronous code can run servers."""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("harness")

#: Errors that mean "out of a resource, for now": a server keeps serving through them.
EXHAUSTION = {
    errno.EMFILE: "out of file descriptors (EMFILE: the process's limit, see ulimit -n)",
    errno.ENFILE: "out of file descriptors (ENFILE: the system's limit)",
    errno.ENOBUFS: "out of socket buffers (ENOBUFS)",
    errno.ENOMEM: "out of kernel memory for sockets (ENOMEM)",
}
QUIET_S = 2.0  # a condition has ended once it has not recurred for this long


class ExhaustionLog:
    """A loop's exception handler that reports resource exhaustion once per condition,
    with a count, instead of one traceback per failed accept (thousands a second under
    a connection flood, enough to block a server writing to a full stderr pipe).

    asyncio itself pauses accepting for a second after such a failure and retries, so
    the server serves again as soon as descriptors come back; this says when that was
    and how many accepts failed meanwhile. Anything else goes to asyncio's own handler.
    """

    def __init__(self) -> None:
        self.failures: dict[int, int] = {}  # errno -> failures in the current condition

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        code = error.errno if isinstance(error, OSError) else None
        if code not in EXHAUSTION:
            loop.default_exception_handler(context)
            return
        assert code is not None
        if code not in self.failures:
            self.failures[code] = 0
            log.warning("harness: %s; connections wait until some close, further failures"
                        " are counted, not logged", EXHAUSTION[code])
            loop.call_later(QUIET_S, self._check, loop, code, 0)
        self.failures[code] += 1

    def _check(self, loop: asyncio.AbstractEventLoop, code: int, before: int) -> None:
        count = self.failures[code]
        if count == before:
            del self.failures[code]
            log.warning("harness: %s ended: %d failures while it lasted",
                        EXHAUSTION[code].split(" (")[0], count)
        else:
            loop.call_later(QUIET_S, self._check, loop, code, count)


class LoopThread:
    """One event loop in a daemon thread; ``call`` runs a coroutine there and waits."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(ExhaustionLog())
        #: Closings of what shares this loop (a proxy in front of the server that owns it),
        #: run by ``finish`` first, latest first; each removes itself when it closes earlier.
        self.guests: list[Callable[[], Coroutine[Any, Any, Any]]] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    @classmethod
    def running(cls, name: str, opening: Coroutine[Any, Any, Any]) -> LoopThread:
        """A new loop thread with ``opening`` run on it: how a component that is async
        inside starts for synchronous callers. The thread is stopped if ``opening`` fails."""
        thread = cls(name)
        try:
            thread.call(opening)
        except BaseException:
            thread.stop()
            raise
        return thread

    def finish(self, closing: Coroutine[Any, Any, Any]) -> None:
        """Run the guests' closings and ``closing`` on the loop, then stop the thread."""
        while self.guests:
            self.call(self.guests.pop()())
        self.call(closing)
        self.stop()

    def is_current(self) -> bool:
        """True on the loop's own thread (where ``call`` would wait for itself)."""
        return threading.current_thread() is self._thread

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()


async def sleep_precisely(seconds: float) -> None:
    """Sleep until ``seconds`` from now, to a fraction of a millisecond.

    asyncio's timers fire up to a millisecond late (the selector waits in whole
    milliseconds, rounded up), which a 200 ms delay fault would pass on to the client. So
    sleep to 1.5 ms before the deadline, then yield to the loop until it is reached: the
    other connections are still served meanwhile.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    if seconds > _COARSE_S:
        await asyncio.sleep(seconds - _COARSE_S)
    while loop.time() < deadline:
        await asyncio.sleep(0)


_COARSE_S = 0.0015
