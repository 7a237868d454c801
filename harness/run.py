"""Run: one scenario, one client, one timeline, one verdict: the only path from a scenario
to its outcome.

``harness run``, ``serve`` and ``demo``, the batch runner and the pytest engine all go
through :class:`Run`: start the fake server with the scenario's faults (a fresh one, or a
warm one an :class:`~harness.engine.Engine` keeps between tests), put the chaos proxy in
front when the scenario has a network section (embedded, or a real Toxiproxy), let the
client run, wait for its connections to end, judge the timeline, and say whether the
scenario was exercised at all. Each run has its own recorder, ports and seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from harness.attempts import Attempts
from harness.chaos import ChaosProxy, Toxic
from harness.chaos.backend import ChaosBackend, ToxiproxyBackend
from harness.chaos.proxy import join_address
from harness.clients import CallableClient, Client, ClientResult, Target
from harness.errors import HarnessError
from harness.faults import FaultSchedule
from harness.model import Scenario
from harness.model.network import Down
from harness.outcome import RunResult
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder, StoredMessage, Timeline
from harness.tls import certificate
from harness.verdicts import Calibration, Expectations, Result, Verdict, judge
from harness.verdicts.calibration import recheck
from harness.verdicts.exercised import Situation, not_exercised

if TYPE_CHECKING:
    from harness.plan import ExpectationBuilder

SETTLE_S = 5.0
"""How long a run waits, once the client is done, for its connections to end."""


class WarmServers(Protocol):
    """What a run borrows from an :class:`~harness.engine.Engine`: servers (and proxies)
    kept running between runs, and the way to take one out of service."""

    toxiproxy_url: str | None

    def prepare(self, faults: FaultSchedule, **options: Any) -> FakeSMTPServer: ...
    def proxy(self, server: FakeSMTPServer) -> ChaosProxy: ...
    def retire(self, server: FakeSMTPServer, client: threading.Thread | None = None) -> None: ...


class Run:
    """One scenario run, from its servers' start to its outcome.

    Use it as a context manager (``with`` or ``async with``) around the client, or call
    :meth:`run_client`. Inside, :attr:`host`, :attr:`port` (and :attr:`target` for the TLS
    details) say where to send, and :attr:`expect` adds expectations; once finished,
    :attr:`result` holds the outcome and :attr:`verdict` the checks.

    ``engine`` lends warm servers (the pytest plugin); without one the run starts its own,
    reachable on ``host:port`` (port 0: a free one). ``toxiproxy_url`` puts a real
    Toxiproxy in front instead of the embedded proxy. ``calibration`` is the timer noise
    timing checks are judged with (a callable measures it only when needed). ``stop``,
    once set (Ctrl-C, SIGTERM), makes the run end as interrupted.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        expect: Expectations | None = None,
        engine: WarmServers | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        toxiproxy_url: str | None = None,
        calibration: Calibration | Callable[[], Calibration] | None = None,
        settle_s: float = SETTLE_S,
        time_limit_s: float | None = None,
        time_limit_from: str = "scenario",
        stop: threading.Event | None = None,
    ) -> None:
        from harness.plan import ExpectationBuilder

        self.scenario = scenario
        self.name = scenario.name
        self.engine = engine
        self._listen = (host, port)
        self.toxiproxy_url = toxiproxy_url
        self.settle_s = settle_s
        self.time_limit_s = scenario.client.timeout_s if time_limit_s is None else time_limit_s
        self.time_limit_from = time_limit_from
        self._calibration = calibration
        self._stop = stop
        self.expect: ExpectationBuilder = ExpectationBuilder(
            scenario.expectations() if expect is None else expect)
        self.schedule: FaultSchedule = scenario.fault_schedule(seed=seed)
        self.seed = self.schedule.seed
        self.server: FakeSMTPServer | None = None
        self.proxy: ChaosBackend | None = None
        self.target: Target | None = None
        self.client: ClientResult | None = None
        self.client_error: BaseException | None = None
        self._client_exit: int | None = None
        self._hung: threading.Thread | None = None
        self._stack = contextlib.ExitStack()
        self._started_ns = 0
        self._result: RunResult | None = None

    def __repr__(self) -> str:
        state = "judged" if self._result else "running" if self.target else "not started"
        return f"<Run {self.name} seed={self.seed} {state}>"

    # -- where to send ------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._target().host

    @property
    def port(self) -> int:
        return self._target().port

    @property
    def tls(self) -> str:
        return self._target().tls

    @property
    def cafile(self) -> str | None:
        """The CA file that verifies every certificate of the catalogue (None without TLS)."""
        return self._target().cafile

    def _target(self) -> Target:
        if self.target is None:
            raise HarnessError("the run has not started: use it as `with engine.run(...) as run`")
        return self.target

    # -- what happened ------------------------------------------------------------------

    @property
    def recorder(self) -> Recorder:
        """What the run writes into: ``run.recorder.wait_for(...)`` waits without sleeping."""
        if self.server is None:
            raise HarnessError("the run has not started: no recorder yet")
        return self.server.recorder

    @property
    def timeline(self) -> Timeline:
        if self._result is not None:
            return self._result.timeline
        return self.recorder.timeline()

    @property
    def messages(self) -> Sequence[StoredMessage]:
        return self.timeline.messages

    @property
    def result(self) -> RunResult:
        """The outcome, verdict and timeline (after the ``with`` block)."""
        if self._result is None:
            raise HarnessError("the result is known once the `with` block of the run ends")
        return self._result

    @property
    def verdict(self) -> Verdict:
        """Every expectation judged against the timeline (after the ``with`` block)."""
        if self._result is None:
            raise HarnessError("the verdict is known once the `with` block of the run ends")
        return self._result.verdict

    @property
    def judged(self) -> bool:
        return self._result is not None

    def transcript(self) -> str:
        return self.timeline.transcript()

    # -- the client ---------------------------------------------------------------------

    def run_client(self, client: Client) -> ClientResult:
        """Run ``client`` against the target within the time limit; its result is kept.

        A scenario with ``clients: K`` starts K instances at once, each told its index;
        their results add up to one (see :func:`combined`).
        """
        target = self._target()
        count = self.scenario.clients
        if count == 1:
            outcome = client.run(target, self.time_limit_s)
        else:
            with ThreadPoolExecutor(count, thread_name_prefix=f"{self.name} client") as pool:
                outcome = combined(list(pool.map(
                    lambda i: client.run(dataclasses.replace(target, client=i),
                                         self.time_limit_s), range(count))))
        self.client = outcome
        self._client_exit = outcome.exit_code
        return outcome

    def call(self, client: Callable[[Target], object], *,
             time_limit_s: float | None = None) -> bool:
        """Run ``client(run.target)`` on a thread of its own (one per instance with
        ``clients: K``, each target told its index); True if every one returned (or
        raised) within ``time_limit_s`` (default: the run's time limit).

        An exception is the client's way to give up, not an error of the run: it is kept
        in :attr:`client_error`. A client still running at the limit hangs somewhere: the
        verdict gets a failed ``finishes-in-time`` (RFC 5321 §4.5.3.2).
        """
        if time_limit_s is not None:
            self.time_limit_s, self.time_limit_from = time_limit_s, "call"
        target, count = self._target(), self.scenario.clients
        callers = [CallableClient(client, name=f"client of {self.name}") for _ in range(count)]
        if count == 1:
            outcome = callers[0].run(target, self.time_limit_s)
        else:  # a fleet: each instance on its own thread, told its index, as run_client does
            with ThreadPoolExecutor(count, thread_name_prefix=f"{self.name} client") as pool:
                outcome = combined(list(pool.map(
                    lambda i: callers[i].run(dataclasses.replace(target, client=i),
                                             self.time_limit_s), range(count))))
        self.client = outcome
        self.client_error = next((c.error for c in callers if c.error is not None), None)
        if outcome.timed_out:
            self._hung = next((c.thread for c in callers
                               if c.thread is not None and c.thread.is_alive()), None)
        return not outcome.timed_out

    def client_exited(self, code: int | None) -> None:
        """Tell the run how a client process ended, for the ``client-exit`` expectation."""
        self._client_exit = code

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Run:
        """Start (or borrow) the server, and the proxy when the scenario has a network."""
        if self.target is not None:
            return self
        scenario = self.scenario
        options = scenario.server.options()
        toxics = [Toxic.from_json(item.to_json()) for item in scenario.toxics()]
        down = scenario.down()
        proxied = bool(toxics) or down is not None
        if self.engine is not None:
            server = self.engine.prepare(self.schedule, **options)
        else:
            server = self._stack.enter_context(FakeSMTPServer(
                self.schedule, recorder=Recorder(), host=self._listen[0],
                port=0 if proxied else self._listen[1], **options))
        self.server = server
        reach = (server.host, server.port)
        if proxied:
            self.proxy = self._start_proxy(server, toxics, down)
            _make_down(self.proxy, down, self._stack)
            reach = (self.proxy.host, self.proxy.port)
        tls = options.get("tls", "none")
        auth = scenario.server.auth
        user, password = next(iter(auth.credentials.items())) if auth else ("", "")
        self.target = Target(*reach, tls=tls, cafile=trusted_cafile(tls),
                             messages=scenario.messages, user=user, password=password)
        self._started_ns = time.monotonic_ns()
        return self

    def _start_proxy(self, server: FakeSMTPServer, toxics: list[Toxic],
                     down: Down | None) -> ChaosBackend:
        """The proxy in front of ``server`` with ``toxics`` and per-attempt ``down`` from
        its start (a real Toxiproxy's backend decides at start whether to switch toxics
        between attempts)."""
        url = self.toxiproxy_url or (self.engine.toxiproxy_url if self.engine else None)
        host, port = self._listen
        listen = join_address(host, 0 if self.engine else port)
        attempts = None if down is None else down.attempts
        if url:
            backend = ToxiproxyBackend(url, (server.host, server.port), toxics,
                                       recorder=server.recorder, listen=listen, down=attempts)
            return self._stack.enter_context(backend)
        if self.engine is not None:
            proxy = self.engine.proxy(server)
            proxy.reset()
            proxy.seed = self.seed
            proxy.down = None if attempts is None else Attempts.parse(attempts)
            for toxic in toxics:
                proxy.add_toxic(toxic)
            return proxy
        return self._stack.enter_context(ChaosProxy(
            (server.host, server.port), toxics, recorder=server.recorder, seed=self.seed,
            listen=listen, down=attempts).start(on=server.thread))

    def finish(self, *, interrupted: bool = False) -> RunResult:
        """Wait (bounded) for the client's connections to end, then judge.

        ``interrupted``: the run was stopped from outside (Ctrl-C, SIGTERM); it is judged
        on what happened so far and reported as interrupted.
        """
        if self._result is not None:
            return self._result
        interrupted = interrupted or (self._stop is not None and self._stop.is_set())
        server = self.server
        if server is None:
            raise HarnessError("the run was never started")
        stopped = self.client is not None and self.client.timed_out
        if not (stopped or interrupted):  # a stopped client's connections hang: no wait
            self._settle(server)
        self._stack.close()
        if self._hung is not None and self.engine is not None:
            self.engine.retire(server, self._hung)
        timeline = server.recorder.timeline()
        duration = (time.monotonic_ns() - self._started_ns) / 1e9
        verdict = self._judge(timeline, duration)
        client = self.client or ClientResult(self._client_exit, duration)
        why: tuple[str, ...] = ()
        if not interrupted:
            target = self._target()
            auth = self.scenario.server.auth
            down = self.scenario.down()
            outage_s = None if down is None or down.attempts is not None else (
                math.inf if down.for_s is None else down.for_s)
            situation = Situation(self.schedule.faults, target.tls, f"{target.host}:{target.port}",
                                  needs_auth=auth is not None and (
                                      auth.required or bool(self.expect.build().no_plaintext_auth)),
                                  outage_s=outage_s,
                                  messages=self.scenario.messages
                                  if self.scenario.clients == 1 else 1)
            why = not_exercised(timeline, situation, verdict.results,
                                client_note=describe_client(client),
                                client_ended_s=None if self.client is None
                                else self.client.duration_s)
        else:
            why = (f"interrupted after {duration:.1f} s",)
        self._result = RunResult(
            self.scenario, self.seed, timeline, verdict, client, self._target(), duration,
            why=why, interrupted=interrupted, time_limit_s=self.time_limit_s,
            time_limit_from=self.time_limit_from)
        return self._result

    def _settle(self, server: FakeSMTPServer) -> None:
        with contextlib.suppress(TimeoutError):
            server.recorder.wait_progress(lambda p: p.open_attempts == 0, self.settle_s)
        if isinstance(self.proxy, ChaosProxy):
            with contextlib.suppress(TimeoutError):
                self.proxy.wait_connections(0, timeout=self.settle_s)

    def _judge(self, timeline: Timeline, duration: float) -> Verdict:
        spec = self.expect.build()
        needs_timing = spec.backoff is not None or spec.gives_up_within_s is not None
        calibration = self._calibration
        if callable(calibration):
            calibration = calibration() if needs_timing else Calibration.assumed()
        if needs_timing and calibration is not None:  # the noise as the client ended, too
            calibration = calibration.worst(recheck())
        stopped = self.client is not None and self.client.timed_out
        verdict = judge(timeline, spec, client_exit=self._client_exit, calibration=calibration,
                        duration_s=duration, seed=self.seed, client_stopped=stopped,
                        messages=self.scenario.messages * self.scenario.clients,
                        clients=self.scenario.clients)
        if stopped:
            verdict = dataclasses.replace(
                verdict, results=(*verdict.results, stopped_in_time(self.time_limit_s)))
        return verdict

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.target is None:
            return
        self.finish(interrupted=exc_type is not None and issubclass(exc_type, KeyboardInterrupt))

    async def __aenter__(self) -> Run:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.finish)


def _make_down(proxy: ChaosBackend, down: Down | None, stack: contextlib.ExitStack) -> None:
    """The scenario's ``down`` for the whole run or its first ``for_s`` seconds: the proxy
    refuses connections for real, so they are not counted (per-attempt ``down`` was given
    to the proxy when it started: accepted and reset at once, so counted). ``stack``
    cancels the timer and brings the proxy back."""
    if down is None or down.attempts is not None:
        return
    proxy.disable()
    if down.for_s is not None:
        timer = threading.Timer(down.for_s, proxy.enable)
        timer.daemon = True
        timer.start()
        stack.callback(timer.cancel)


def combined(results: list[ClientResult]) -> ClientResult:
    """Several instances' results as one: the first failing exit code (None when any
    was stopped), the longest duration, every instance's output under its index."""
    codes = [r.exit_code for r in results]
    exit_code = None if None in codes else next((c for c in codes if c), 0)

    def joined(texts: list[str]) -> str:
        return "".join(f"[client {i}] {line}\n" for i, text in enumerate(texts)
                       for line in text.splitlines())

    errors = [f"client {i}: {r.error}" for i, r in enumerate(results) if r.error]
    return ClientResult(
        exit_code, max(r.duration_s for r in results), any(r.timed_out for r in results),
        joined([r.stdout for r in results]), joined([r.stderr for r in results]),
        "; ".join(errors) or None)


def trusted_cafile(tls: str) -> str | None:
    """The CA file a client must trust: one root signs every catalogue variant."""
    return None if tls == "none" else str(certificate("valid").cafile)


def describe_client(client: ClientResult) -> str:
    """How the client's run ended, for a message: exit code, time, its error."""
    if client.timed_out:
        return f"the harness stopped it at its {client.duration_s:.1f} s time limit"
    if client.exit_code is not None:
        said = _last_line(client.stderr) or _last_line(client.stdout)
        tail = f": {said}" if said else ""
        return f"it exited with code {client.exit_code} after {client.duration_s:.2f} s{tail}"
    return client.error or ""


def _last_line(text: str, limit: int = 160) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def stopped_in_time(limit: float) -> Result:
    """A client still running at the time limit hangs somewhere: a failure of its own,
    whatever else was expected (RFC 5321 §4.5.3.2: a client MUST time out)."""
    return Result(
        "finishes-in-time", "violation", "failed",
        f"The client was still running after the {limit:g} s time limit and was stopped"
        " by the harness. Give every command a timeout and bound the retries"
        " (RFC 5321 §4.5.3.2), or raise client.timeout_s if the scenario needs longer.",
        {"time_limit_s": limit},
    )


def not_started(scenario: Scenario, seed: int | None) -> RunResult:
    """The result of a scenario a stopped batch never started."""
    return RunResult(
        scenario, seed or 0, Timeline(0, (), ()), Verdict((), Calibration.assumed(), seed=seed),
        ClientResult(None, 0.0, error="not started: the run was interrupted"),
        Target("", 0), 0.0, why=("not started: the run was interrupted",), interrupted=True,
        time_limit_s=None)


def run_scenario(
    scenario: Scenario,
    client: Client,
    *,
    seed: int | None = None,
    timeout_s: float | None = None,
    calibration: Calibration | None = None,
    toxiproxy_url: str | None = None,
) -> RunResult:
    """Run ``client`` against ``scenario`` and judge what happened.

    ``timeout_s`` is the time limit when the scenario sets none of its own (see
    :func:`time_limit`); past it the client is stopped, and the verdict is still written.
    """
    limit, source = time_limit(scenario, timeout_s)
    with Run(scenario, seed=seed, calibration=calibration, toxiproxy_url=toxiproxy_url,
             time_limit_s=limit, time_limit_from=source) as run:
        run.run_client(client)
    return run.result


def time_limit(scenario: Scenario, default_s: float | None) -> tuple[float, str]:
    """The client's time limit and where it comes from: the scenario's own
    ``client.timeout_s`` when it sets one; else ``default_s`` (``--timeout``); else the
    model's default. A scenario's own limit is never cut by the run's default."""
    if "timeout_s" in scenario.client.model_fields_set:
        return scenario.client.timeout_s, "scenario"
    if default_s is not None:
        return default_s, "--timeout"
    return scenario.client.timeout_s, "default"
