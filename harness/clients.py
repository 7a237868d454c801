"""The client under test: a command in any language, or a Python callable.

A command gets the server's address through placeholders (``{host}``, ``{port}``,
``{cafile}``, ``{tls}``) and the same values in environment variables, runs in a process
group of its own, and is stopped (the whole group) when its time limit passes, so a client
that hangs cannot hang the run; its exit code and output go into the report either way.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from harness.errors import ClientError

TLSMode = Literal["none", "starttls", "implicit"]
PLACEHOLDERS = ("host", "port", "cafile", "tls")
_PLACEHOLDER = re.compile(r"(?<!\$)\{(\w+)\}")
_KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class Target:
    """Where the client under test must send: the harness's server (or its proxy)."""

    host: str
    port: int
    tls: TLSMode = "none"
    cafile: str | None = None

    def values(self) -> dict[str, str]:
        return {"host": self.host, "port": str(self.port), "tls": self.tls,
                "cafile": self.cafile or ""}

    def environment(self) -> dict[str, str]:
        return {
            "HARNESS_SMTP_HOST": self.host,
            "HARNESS_SMTP_PORT": str(self.port),
            "HARNESS_SMTP_TLS": self.tls,
            "HARNESS_CAFILE": self.cafile or "",
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

    A string is split like a shell would (``shlex``) but not run through a shell.
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
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv, env=env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                errors="replace", start_new_session=True,
            )
        except FileNotFoundError:
            raise ClientError(f"cannot run the client: command not found: {argv[0]}") from None
        except PermissionError:
            raise ClientError(f"cannot run the client: not executable: {argv[0]}") from None
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop_group(process)
            stdout, stderr = process.communicate()
        finally:
            _stop_group(process, only_if_running=True)
        return ClientResult(
            exit_code=None if timed_out else process.returncode,
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
            stdout=stdout,
            stderr=stderr,
            error=f"stopped after the {timeout_s:g}s time limit" if timed_out else None,
        )


def _stop_group(process: subprocess.Popen[str], *, only_if_running: bool = False) -> None:
    """SIGTERM the client's process group, then SIGKILL what is left after a grace period.

    Children the client started are in the same group, so none outlives the run.
    """
    if only_if_running and process.poll() is not None:
        signals: tuple[signal.Signals, ...] = (signal.SIGKILL,)  # orphans left in the group
    else:
        signals = (signal.SIGTERM, signal.SIGKILL)
    for sig in signals:
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if sig is signal.SIGTERM:
            try:
                process.wait(_KILL_GRACE_S)
                return
            except subprocess.TimeoutExpired:
                continue


class CallableClient:
    """A Python function run in a thread: ``fn(target)``. An exception is its failure.

    A function cannot be killed: past its time limit it is reported as timed out and left
    to finish on its own daemon thread.
    """

    def __init__(self, function: Callable[[Target], object], name: str | None = None) -> None:
        self.function = function
        self.name: str = name or str(getattr(function, "__qualname__", repr(function)))

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
        thread.start()
        thread.join(timeout_s)
        duration = time.monotonic() - started
        if not outcome:
            return ClientResult(None, duration, timed_out=True,
                                error=f"still running after the {timeout_s:g}s time limit")
        error = outcome[0]
        if error is None:
            return ClientResult(0, duration)
        return ClientResult(None, duration, error=f"{type(error).__name__}: {error}")
