"""The client under test: a command in any language, or a Python callable.

A command gets the server's address through placeholders (``{host}``, ``{port}``,
``{cafile}``, ``{tls}``) and the same values in environment variables, runs in a process
group of its own, and is stopped (the whole group) when its time limit passes, so a client
that hangs cannot hang the run; its exit code and output go into the report either way.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol

from harness.errors import ClientError

TLSMode = Literal["none", "starttls", "implicit"]
"""``none``: plain SMTP, no STARTTLS offered. ``starttls``: STARTTLS offered (as on port
587). ``implicit``: TLS from the first byte (as on port 465, RFC 8314 §3)."""
PLACEHOLDERS = ("host", "port", "cafile", "tls", "messages", "client", "user", "password")
"""What a client command may say in braces (``{{`` and ``}}`` are literal braces)."""
_PLACEHOLDER = re.compile(r"(?<!\$)\{(\w+)\}")


@dataclass(frozen=True)
class Target:
    """Where the client under test must send: the harness's server (or its proxy)."""

    host: str
    port: int
    tls: TLSMode = "none"
    cafile: str | None = None
    messages: int = 1
    """How many messages the scenario asks each client instance to send."""
    client: int = 0
    """Which instance this is, from 0, when the scenario starts several at once."""
    user: str = ""
    password: str = ""
    """An account the server accepts, when the scenario offers AUTH (empty otherwise)."""

    def values(self) -> dict[str, str]:
        return {"host": self.host, "port": str(self.port), "tls": self.tls,
                "cafile": self.cafile or "", "messages": str(self.messages),
                "client": str(self.client), "user": self.user, "password": self.password}

    def environment(self) -> dict[str, str]:
        return {
            "HARNESS_SMTP_HOST": self.host,
            "HARNESS_SMTP_PORT": str(self.port),
            "HARNESS_SMTP_TLS": self.tls,
            "HARNESS_CAFILE": self.cafile or "",
            "HARNESS_SMTP_MESSAGES": str(self.messages),
            "HARNESS_CLIENT_INDEX": str(self.client),
            "HARNESS_SMTP_USER": self.user,
            "HARNESS_SMTP_PASSWORD": self.password,
        }


@dataclass(frozen=True)
class ClientResult:
    """How the client's run ended. ``exit_code`` is None when it was stopped or is a
    callable that raised; ``error`` then says why."""

    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    error: str | None = None


class Client(Protocol):
    """Anything that can run once against a target within a time limit."""

    def run(self, target: Target, timeout_s: float) -> ClientResult: ...

    def describe(self) -> str: ...


def expand(argv: Sequence[str], target: Target) -> list[str]:
    """Fill the placeholders of a command; an unknown ``{name}`` is an error."""
    values = target.values()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
            hint = f"; did you mean '{{{close[0]}}}'?" if close else ""
            raise ClientError(
                f"unknown placeholder {{{name}}} in the client command{hint}"
                f" (allowed: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
            )
        return values[name]

    return [_PLACEHOLDER.sub(fill, arg) for arg in argv]


class CommandClient:
    """A client run as a subprocess, e.g. ``["./send-mail", "--port", "{port}"]``.

    A string is split like a shell would (``shlex``) but not run through a shell. The
    command runs under a small keeper process (``harness/_reaper.py``) in a session of
    its own: the keeper is the subreaper of everything the client starts, so when the
    client exits, or its time limit passes, every descendant is stopped, even one that
    left the process group with ``setsid``. The client's own exit decides when it
    finished, whatever its descendants do with the output pipes.
    """

    def __init__(
        self,
        command: Sequence[str] | str,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ClientError("the client command is empty: give the program to run after --")
        self.env = dict(env or {})
        self.cwd = cwd

    def describe(self) -> str:
        return shlex.join(self.argv)

    def run(self, target: Target, timeout_s: float) -> ClientResult:
        argv = expand(self.argv, target)
        env = {**os.environ, **target.environment(), **self.env}
        with _Supervised(argv, env, self.cwd) as process:
            return process.wait(timeout_s)


def stop_all_clients(timeout_s: float = 2.0) -> int:
    """Stop every client process tree this process is running, at once, within
    ``timeout_s``; return how many there were. For interrupts (Ctrl-C, SIGTERM): each
    waiting :meth:`CommandClient.run` then returns as stopped."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for process in live:
        process.stop_requested = True
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + max(timeout_s - _KILL_MARGIN_S, 0.0)
    for process in live:
        process.wait_keeper(deadline - time.monotonic())
    for process in live:
        process.kill()
    return len(live)


_LIVE: set[_Supervised] = set()
_LIVE_LOCK = threading.RLock()  # stop_all_clients may run in a signal handler
_REAPER = str(Path(__file__).with_name("_reaper.py"))
_START_TIMEOUT_S = 30.0  # the keeper reports within milliseconds unless the machine stalls
_KILL_MARGIN_S = 0.3  # kept back from a stop's time for SIGKILL and the last reads
_KEEPER_STOP_S = 2.0  # the keeper's 1 s grace between SIGTERM and SIGKILL, and its reaping
_OUTPUT_LIMIT = 1024 * 1024  # characters of each stream kept for the report


class _Supervised:
    """One client under its keeper: output read on threads, bounded, and the keeper's
    report of when the client started and how it ended."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str | None) -> None:
        self.stop_requested = False
        status_read, status_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", _REAPER, str(status_write), *argv],
                env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(status_write,), start_new_session=True,
            )
        except OSError as error:
            os.close(status_read)
            raise ClientError(f"cannot run the client: {error.strerror or error}") from None
        finally:
            os.close(status_write)
        self.status = os.fdopen(status_read, "r")
        assert self.process.stdout is not None and self.process.stderr is not None
        self.stdout = _Output(self.process.stdout)
        self.stderr = _Output(self.process.stderr)
        with _LIVE_LOCK:
            _LIVE.add(self)

    def __enter__(self) -> _Supervised:
        return self

    def __exit__(self, *exc: object) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)
        self.kill()
        self.status.close()

    def wait(self, timeout_s: float) -> ClientResult:
        first = self._report(_START_TIMEOUT_S)
        if first[:1] == ["error"]:
            self.process.wait()
            what = "command not found" if first[1:] == ["notfound"] else "not executable"
            raise ClientError(f"cannot run the client: {what}: {self._argv0()}")
        started = float(first[1]) if first[:1] == ["started"] else time.monotonic()
        timed_out = not self.wait_keeper(started + timeout_s - time.monotonic())
        if timed_out:
            self.signal(signal.SIGTERM)  # the keeper stops the tree, SIGKILL after 1 s
            self.wait_keeper(_KEEPER_STOP_S)
        self.kill()
        ending = self._report(0.5)
        code = int(ending[1]) if ending[:1] == ["exit"] and not timed_out else None
        ended = float(ending[2]) if ending[:1] == ["exit"] else time.monotonic()
        stopped = timed_out or self.stop_requested
        if code is not None and self.stop_requested and code < 0:
            code = None  # ended by our own stop, not by itself
        return ClientResult(
            exit_code=code,
            duration_s=max(0.0, ended - started),
            timed_out=timed_out,
            stdout=self.stdout.text(),
            stderr=self.stderr.text(),
            error=(f"stopped after the {timeout_s:g}s time limit" if timed_out
                   else "stopped: the run was interrupted" if stopped and code is None
                   else None),
        )

    def wait_keeper(self, timeout_s: float) -> bool:
        """Wait (bounded) for the keeper, hence the client, to exit."""
        try:
            self.process.wait(max(timeout_s, 0.0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def signal(self, sig: signal.Signals) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the keeper's group (a last resort: the keeper has normally cleaned
        up and exited already), then stop reading the output."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(1.0)
        self.stdout.finish()
        self.stderr.finish()

    def _report(self, timeout_s: float) -> list[str]:
        ready, _, _ = select.select([self.status], [], [], max(timeout_s, 0.0))
        return self.status.readline().split() if ready else []

    def _argv0(self) -> str:
        args = self.process.args
        assert isinstance(args, list)
        return str(args[5])


class _Output:
    """One output stream, read on a daemon thread; keeps the first ``_OUTPUT_LIMIT``
    characters and counts the rest, so a chatty client cannot fill memory."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._chunks: list[bytes] = []
        self._kept = 0
        self._dropped = 0
        self._thread = threading.Thread(target=self._read, name="client output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with self._stream, contextlib.suppress(OSError, ValueError):
            while chunk := os.read(self._stream.fileno(), 65536):
                keep = chunk[: max(_OUTPUT_LIMIT - self._kept, 0)]
                if keep:
                    self._chunks.append(keep)
                    self._kept += len(keep)
                self._dropped += len(chunk) - len(keep)

    def finish(self) -> None:
        """Wait a moment for the last output: every writer is gone by now, so this ends
        at once, unless a descendant escaped the keeper (only where there is no
        subreaper): then its reader is left behind, a daemon, keeping nothing more."""
        self._thread.join(1.0)

    def text(self) -> str:
        text = b"".join(self._chunks).decode(errors="replace")
        if self._dropped:
            text += f"\n[harness: {self._dropped} more bytes of output not kept]\n"
        return text


class CallableClient:
    """A Python function run in a thread: ``fn(target)``. An exception is its failure.

    A function cannot be killed: past its time limit it is reported as timed out and left
    to finish on its own daemon thread.
    """

    def __init__(self, function: Callable[[Target], object], name: str | None = None) -> None:
        self.function = function
        self.name: str = name or str(getattr(function, "__qualname__", repr(function)))
        self.error: BaseException | None = None
        """What the last run raised (the client's way to give up), if anything."""
        self.thread: threading.Thread | None = None
        """The last run's thread: still alive when it passed its time limit."""

    def describe(self) -> str:
        return self.name

    def run(self, target: Target, timeout_s: float) -> ClientResult:
        outcome: list[BaseException | None] = []

        def call() -> None:
            try:
                self.function(target)
            except BaseException as error:  # the client's failure is data, not ours
                outcome.append(error)
            else:
                outcome.append(None)

        started = time.monotonic()
        thread = threading.Thread(target=call, name=f"client {self.name}", daemon=True)
        self.thread, self.error = thread, None
        thread.start()
        thread.join(timeout_s)
        duration = time.monotonic() - started
        if not outcome:
            return ClientResult(None, duration, timed_out=True,
                                error=f"still running after the {timeout_s:g}s time limit")
        error = self.error = outcome[0]
        if error is None:
            return ClientResult(0, duration)
        return ClientResult(None, duration, error=f"{type(error).__name__}: {error}")
