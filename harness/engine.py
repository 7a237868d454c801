"""The engine a test session shares: servers started once, reset for every run.

Starting a fake server (an event-loop thread, a listening socket, TLS contexts) costs
milliseconds; swapping its fault schedule and forgetting its timeline costs microseconds. An
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

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.chaos import ChaosProxy
from harness.chaos.proxy import join_address
from harness.errors import HarnessError
from harness.faults import Fault, FaultSchedule
from harness.model import Scenario, load_scenario
from harness.plan import ExpectationBuilder, Plan
from harness.run import SETTLE_S, Run
from harness.smtp.server import FakeSMTPServer
from harness.verdicts import Calibration, Expectations, calibrate

__all__ = ["Engine", "Run", "RunSpec"]

RunSpec = Scenario | Plan | FaultSchedule | str | Path | Iterable[Fault]
"""What a run can be made of: a scenario, a plan, faults, a built-in name or a file."""


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

    def prepare(
        self, faults: Iterable[Fault] | FaultSchedule = (), **options: Any
    ) -> FakeSMTPServer:
        """The running server for ``options``, idle and with ``faults``: what the last run
        left open is closed (proxied connections too, whose toxics may still hold them
        after the server's side ended), then its fault schedule is swapped and its timeline
        reset."""
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
                                   listen=join_address(self.host, 0)).start(on=server.thread)
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
        """A run of ``spec`` on this engine's warm servers, to use as a context manager
        around the client.

        ``expect`` replaces the scenario's (or plan's) expectations; ``run.expect`` adds
        to them inside the block.
        """
        scenario, plan_expect = _as_scenario(self, spec)
        if expect is None:
            expect = plan_expect
        chosen = seed if seed is not None else None if scenario.seed is not None else self.seed
        return Run(
            scenario, seed=chosen, engine=self,
            expect=expect.build() if isinstance(expect, ExpectationBuilder) else expect,
            calibration=lambda: self.calibration, settle_s=self.settle_s,
            time_limit_s=self.client_timeout_s, time_limit_from="engine",
        )


def _as_scenario(engine: Engine, spec: RunSpec) -> tuple[Scenario, Expectations | None]:
    """Every run is of a scenario: a plan (or bare faults) compiles to one. A plan's
    expectations come back separately: they may hold what a scenario file cannot."""
    if isinstance(spec, Scenario):
        return spec, None
    if isinstance(spec, (str, Path)):
        return engine.scenario(spec), None
    if isinstance(spec, FaultSchedule):
        spec = Plan(spec.faults)
    elif not isinstance(spec, Plan):
        try:
            spec = Plan(spec)
        except TypeError:
            raise HarnessError(
                f"cannot run {spec!r}: give a scenario, a Plan, faults, a built-in name or a file"
            ) from None
    return spec.to_scenario(spec.name), spec.expect.build()
