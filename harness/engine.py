"""The engine a test session shares: servers started once, reset for every run.

Starting a fake server (an event-loop thread, a listening socket, TLS contexts) costs
milliseconds; swapping its fault plan and forgetting its timeline costs microseconds. An
:class:`Engine` keeps one running server per server configuration (TLS mode, certificate,
auth), one chaos proxy in front of each when a run has toxics, and the timer calibration
measured once; :meth:`Engine.run` swaps in a run's faults and yields a :class:`Run`.

::

    with Engine() as engine:
        with engine.run("banner-421-throttle") as run:
            send_mail(run.host, run.port)
        assert run.verdict.passed, run.verdict

Runs of one engine follow each other (one at a time per server configuration); engines
share nothing, so parallel test workers each start their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.chaos import ChaosProxy, Toxic
from harness.chaos.backend import ToxiproxyBackend
from harness.chaos.proxy import join_address
from harness.clients import Target
from harness.errors import HarnessError
from harness.faults import Fault, FaultPlan
from harness.model import Scenario, load_scenario
from harness.plan import ExpectationBuilder, Plan
from harness.run import apply_down, trusted_cafile
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Recorder, StoredMessage, Timeline
from harness.verdicts import Calibration, Expectations, Result, Verdict, calibrate, judge

RunSpec = Scenario | Plan | FaultPlan | str | Path | Iterable[Fault]
"""What a run can be made of: a scenario, a plan, faults, a built-in name or a file."""

SETTLE_S = 5.0
"""How long a run waits, once the client is done, for its connections to end."""


class Engine:
    """Fake servers (and chaos proxies) started once and reused by every run.

    ``host`` is where servers listen (loopback); ``seed`` fixes every run's seed unless
    a run or its scenario names one; ``toxiproxy_url`` sends toxics to a real Toxiproxy
    instead of the embedded proxy; ``scenario_dirs`` are searched for ``name.yaml``
    before the built-in catalogue; ``settle_s`` bounds the wait for connections to end;
    ``client_timeout_s`` is the time limit :meth:`Run.call` gives a client by default.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        seed: int | None = None,
        toxiproxy_url: str | None = None,
        scenario_dirs: Iterable[str | Path] = (),
        settle_s: float = SETTLE_S,
        client_timeout_s: float = 30.0,
        calibration: Calibration | None = None,
    ) -> None:
        self.host = host
        self.seed = seed
        self.toxiproxy_url = toxiproxy_url
        self.scenario_dirs = tuple(Path(d) for d in scenario_dirs)
        self.settle_s = settle_s
        self.client_timeout_s = client_timeout_s
        self._calibration = calibration
        self._servers: dict[str, FakeSMTPServer] = {}
        self._proxies: dict[str, ChaosProxy] = {}
        self._lock = threading.Lock()
        self._retired: list[FakeSMTPServer] = []
        self._hung: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"<Engine {self.host} servers={len(self._servers)} seed={self.seed}>"

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Engine:
        """Start the plain server now (others start when a run first needs them)."""
        self.server()
        return self

    def stop(self) -> None:
        """Stop every server and proxy. Does nothing the second time."""
        with self._lock:
            proxies, self._proxies = list(self._proxies.values()), {}
            servers, self._servers = list(self._servers.values()), {}
            retired, self._retired = self._retired, []
            hung, self._hung = self._hung, []
        for server in retired:  # its hung clients wake up, retry, and finish here
            server.use(())
        deadline = time.monotonic() + self.settle_s
        for thread in hung:
            thread.join(max(0.0, deadline - time.monotonic()))
        for proxy in proxies:
            proxy.stop()
        for server in [*servers, *retired]:
            server.stop()

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def calibration(self) -> Calibration:
        """The timer noise of this machine, measured the first time it is needed."""
        if self._calibration is None:
            self._calibration = calibrate()
        return self._calibration

    # -- shared servers -----------------------------------------------------------------

    def server(self, **options: Any) -> FakeSMTPServer:
        """The running server for these :class:`FakeSMTPServer` options, started on first
        use. Its faults and timeline are whatever the last run left: call ``use()``."""
        key = json.dumps(options, sort_keys=True, default=str)
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                server = FakeSMTPServer(host=self.host, **options).start()
                self._servers[key] = server
            return server

    def prepare(self, faults: Iterable[Fault] | FaultPlan = (), **options: Any) -> FakeSMTPServer:
        """The running server for ``options``, idle and with ``faults``: what the last run
        left open is closed (proxied connections too, whose toxics may still hold them
        after the server's side ended), then its plan is swapped and its timeline reset."""
        server = self.server(**options)
        with self._lock:
            proxy = self._proxies.get(f"{server.host}:{server.port}")
        if proxy is not None and proxy.connections:
            try:
                proxy.wait_connections(0, timeout=self.settle_s)
            except TimeoutError:  # still held open: closing the listener closes them
                proxy.disable()
                proxy.enable()
        server.use(faults)
        return server

    def retire(self, server: FakeSMTPServer, client: threading.Thread | None = None) -> None:
        """Take ``server`` out of service: the next run starts a fresh one on another port.

        A run whose client hung does this: the client's thread cannot be killed, and when
        its connection ends it retries, which must not land in another run. The retired
        server keeps listening (so its port is not handed to another server) until the
        engine stops; then it is reset without faults, its clients get to finish, and it
        stops.
        """
        with self._lock:
            key = f"{server.host}:{server.port}"
            proxy = self._proxies.pop(key, None)
            self._servers = {k: s for k, s in self._servers.items() if s is not server}
            self._retired.append(server)
            if client is not None:
                self._hung.append(client)
        if proxy is not None:
            proxy.stop()

    def proxy(self, server: FakeSMTPServer) -> ChaosProxy:
        """The embedded chaos proxy in front of ``server``, sharing its recorder."""
        key = f"{server.host}:{server.port}"
        with self._lock:
            proxy = self._proxies.get(key)
            if proxy is None:
                proxy = ChaosProxy((server.host, server.port), recorder=server.recorder,
                                   listen=join_address(self.host, 0)).start()
                self._proxies[key] = proxy
            return proxy

    # -- runs ---------------------------------------------------------------------------

    def scenario(self, spec: str | Path) -> Scenario:
        """A scenario by file path, by name in ``scenario_dirs``, or built-in."""
        if isinstance(spec, str) and "/" not in spec and not spec.endswith((".yaml", ".yml")):
            for folder in self.scenario_dirs:
                for suffix in (".yaml", ".yml"):
                    if (folder / f"{spec}{suffix}").is_file():
                        return Scenario.from_path(folder / f"{spec}{suffix}")
        return load_scenario(spec)

    def run(self, spec: RunSpec, *, seed: int | None = None,
            expect: Expectations | ExpectationBuilder | None = None) -> Run:
        """A run of ``spec``, to use as a context manager around the client.

        ``expect`` replaces the scenario's (or plan's) expectations; ``run.expect`` adds
        to them inside the block.
        """
        return Run(self, _as_scenario_or_plan(self, spec), seed=seed, expect=expect)


def _as_scenario_or_plan(engine: Engine, spec: RunSpec) -> Scenario | Plan:
    if isinstance(spec, (Scenario, Plan)):
        return spec
    if isinstance(spec, (str, Path)):
        return engine.scenario(spec)
    if isinstance(spec, FaultPlan):
        return Plan(spec.faults)
    try:
        return Plan(spec)
    except TypeError:
        raise HarnessError(
            f"cannot run {spec!r}: give a scenario, a Plan, faults, a built-in name or a file"
        ) from None


class Run:
    """One run on a shared engine: where the client connects, and what happened.

    Use it as a context manager (``with`` or ``async with``) around the client. Inside,
    :attr:`host`, :attr:`port` (and :attr:`target` for TLS details) say where to send,
    and :attr:`expect` adds expectations; after the block :attr:`verdict` judges the
    timeline against them.
    """

    def __init__(self, engine: Engine, spec: Scenario | Plan, *, seed: int | None,
                 expect: Expectations | ExpectationBuilder | None) -> None:
        self.engine = engine
        self.spec = spec
        self.name = spec.name
        self.scenario: Scenario | None = spec if isinstance(spec, Scenario) else None
        if expect is None:
            base = spec.expectations() if isinstance(spec, Scenario) else spec.expect.build()
        else:
            base = expect.build() if isinstance(expect, ExpectationBuilder) else expect
        self.expect = ExpectationBuilder(base)
        chosen = seed if seed is not None else (
            spec.seed if isinstance(spec, Scenario) and spec.seed is not None else engine.seed)
        self.plan: FaultPlan = spec.fault_plan(seed=chosen)
        self.seed = self.plan.seed
        self.server: FakeSMTPServer | None = None
        self.target: Target | None = None
        self._verdict: Verdict | None = None
        self._timeline: Timeline | None = None
        self._stack = contextlib.ExitStack()
        self._started_ns = 0
        self._client_exit: int | None = None
        self._hung_after_s: float | None = None
        self.client_error: BaseException | None = None
        self._proxy: ChaosProxy | None = None
        self._client_thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "judged" if self._verdict else "running" if self.target else "not started"
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
    def timeline(self) -> Timeline:
        if self._timeline is not None:
            return self._timeline
        if self.server is None:
            raise HarnessError("the run has not started: no timeline yet")
        return self.server.timeline

    @property
    def messages(self) -> tuple[StoredMessage, ...]:
        return self.timeline.messages

    @property
    def verdict(self) -> Verdict:
        """Every expectation judged against the timeline (after the ``with`` block)."""
        if self._verdict is None:
            raise HarnessError("the verdict is known once the `with` block of the run ends")
        return self._verdict

    @property
    def judged(self) -> bool:
        return self._verdict is not None

    @property
    def recorder(self) -> Recorder:
        """What the run writes into: ``run.recorder.wait_for(...)`` waits without sleeping."""
        if self.server is None:
            raise HarnessError("the run has not started: no recorder yet")
        return self.server.recorder

    def transcript(self) -> str:
        return self.timeline.transcript()

    def call(self, client: Callable[[Target], object], *,
             time_limit_s: float | None = None) -> bool:
        """Run ``client(run.target)`` on a thread of its own; True if it returned (or
        raised) within ``time_limit_s`` (default: the engine's ``client_timeout_s``).

        An exception is the client's way to give up, not an error of the run: it is kept
        in :attr:`client_error`. A client still running at the limit hangs somewhere (a
        command without a timeout, retries without a bound): the verdict gets a failed
        ``finishes-in-time`` (RFC 5321 §4.5.3.2). A thread cannot be killed; it is a
        daemon, and the next run's reset closes the connection it waits on.
        """
        target = self._target()
        done = threading.Event()

        def run() -> None:
            try:
                client(target)
            except BaseException as error:  # the client's failure is data, not ours
                self.client_error = error
            finally:
                done.set()

        thread = threading.Thread(target=run, name=f"client of {self.name}", daemon=True)
        self._client_thread = thread
        thread.start()
        limit = self.engine.client_timeout_s if time_limit_s is None else time_limit_s
        finished = done.wait(limit)
        if not finished:
            self._hung_after_s = limit
        return finished

    def client_exited(self, code: int | None) -> None:
        """Tell the run how a client process ended, for the ``client-exit`` expectation."""
        self._client_exit = code

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Run:
        spec, engine = self.spec, self.engine
        options = spec.server.options() if isinstance(spec, Scenario) else spec.server_options()
        server = engine.prepare(self.plan, **options)
        self.server = server
        reach = (server.host, server.port)
        toxics, down = self._network()
        if toxics or down is not None:
            reach = self._start_proxy(server, toxics, down)
        tls = options.get("tls", "none")
        self.target = Target(*reach, tls=tls, cafile=trusted_cafile(tls))
        self._started_ns = time.monotonic_ns()
        return self

    def _network(self) -> tuple[list[Toxic], Any]:
        spec = self.spec
        if isinstance(spec, Scenario):
            return [Toxic.from_json(t.to_json()) for t in spec.toxics()], spec.down()
        return list(spec.toxics()), None

    def _start_proxy(self, server: FakeSMTPServer, toxics: list[Toxic],
                     down: Any) -> tuple[str, int]:
        engine = self.engine
        if engine.toxiproxy_url:
            backend = ToxiproxyBackend(engine.toxiproxy_url, (server.host, server.port), toxics,
                                       recorder=server.recorder)
            backend.start()
            self._stack.callback(backend.stop)
            return backend.host, backend.port
        proxy = engine.proxy(server)
        self._proxy = proxy
        proxy.reset()
        proxy.seed = self.seed
        for toxic in toxics:
            proxy.add_toxic(toxic)
        apply_down(proxy, down, self._stack)
        return proxy.host, proxy.port

    def finish(self) -> Verdict:
        """Wait (bounded) for the client's connections to end, then judge."""
        if self._verdict is not None:
            return self._verdict
        server = self.server
        if server is None:
            raise HarnessError("the run was never started")
        if self._hung_after_s is None:  # a hung client keeps its connection: no wait
            with contextlib.suppress(TimeoutError):
                server.recorder.wait_for(
                    lambda t: all(a.end_ns is not None for a in t.attempts),
                    self.engine.settle_s)
            if self._proxy is not None:
                with contextlib.suppress(TimeoutError):
                    self._proxy.wait_connections(0, timeout=self.engine.settle_s)
        self._stack.close()
        timeline = server.recorder.timeline()
        duration = (time.monotonic_ns() - self._started_ns) / 1e9
        spec = self.expect.build()
        needs_timing = spec.backoff is not None or spec.gives_up_within_s is not None
        calibration = self.engine.calibration if needs_timing else Calibration.assumed()
        self._timeline = timeline
        verdict = judge(timeline, spec, client_exit=self._client_exit,
                        calibration=calibration, duration_s=duration, seed=self.seed)
        if self._hung_after_s is not None:
            self.engine.retire(server, self._client_thread)
            verdict = dataclasses.replace(verdict, results=(*verdict.results, Result(
                "finishes-in-time", "violation", "failed",
                f"The client was still running {self._hung_after_s:g}s after it started: a"
                " command without a timeout, or retries without a bound; give every command"
                " a timeout and bound the retries (RFC 5321 §4.5.3.2).",
                {"time_limit_s": self._hung_after_s},
            )))
        self._verdict = verdict
        return verdict

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.finish()

    async def __aenter__(self) -> Run:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.finish)

