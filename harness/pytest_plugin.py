"""The pytest plugin: fixtures, markers, options and report sections.

Registered through the ``pytest11`` entry point, so installing the package is enough.
Fixtures come in three layers, as pytest-httpserver's do:

- settings a project may override (session): ``smtp_listen_host``, ``smtp_seed``,
  ``smtp_chaos_backend``, ``smtp_timeouts``, ``smtp_scenario_dirs``;
- ``smtp_engine`` (session): servers started once, reused by every test;
- per test, only a reset: ``smtp_server``, ``smtp_chaos``, ``smtp_scenario``.

A failed verdict of a run made with ``smtp_scenario`` fails the test at teardown (opt out
with ``@pytest.mark.smtp_harness(check_verdict=False)``); its transcript and verdict are
attached to the report as sections. Heavy imports wait until a fixture is used, so a test
session that uses none pays nothing.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.chaos import ChaosProxy
    from harness.chaos.backend import ToxiproxyBackend
    from harness.engine import Engine, Run, RunSpec
    from harness.smtp.server import FakeSMTPServer
    from harness.verdicts import Expectations

SEED_OPTION = "--harness-seed"
SCENARIOS_OPTION = "--harness-scenarios"
TOXIPROXY_OPTION = "--harness-toxiproxy"

SCENARIO_MARKER = "smtp_scenario"
HARNESS_MARKER = "smtp_harness"

CATEGORIES: dict[str, tuple[str, ...]] = {
    "replies": ("banner-", "ehlo-", "mail-", "rcpt-", "data-", "dot-"),
    "connection": ("close-", "reset-", "store-then-drop", "never-answers", "limit-data-",
                   "connection-limit", "rate-limit"),
    "timing": ("slow-", "tarpit", "greylist"),
    "network": ("proxy-", "blackhole-", "bandwidth-", "latency-"),
    "certificates": ("cert-",),
    "starttls": ("starttls-",),
    "control": ("no-fault",),
}
"""Categories of the built-in catalogue by name prefix, for ``smtp_scenario(category=)``;
a scenario of a ``--harness-scenarios`` folder belongs to the category its name says."""

_RUNS = pytest.StashKey[list["Run"]]()
_CALL_FAILED = pytest.StashKey[bool]()


# -- options and markers ----------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "smtp-fault-harness")
    group.addoption(
        SEED_OPTION, action="store", type=int, default=None, metavar="SEED",
        help="Seed every run's faults with SEED (default: a random seed per run, printed"
             " in every failure).",
    )
    group.addoption(
        SCENARIOS_OPTION, action="append", default=[], metavar="DIR",
        help="Look up scenario names in DIR (*.yaml) before the built-in catalogue;"
             " may be given several times.",
    )
    group.addoption(
        TOXIPROXY_OPTION, action="store", default=None, metavar="URL",
        help="Apply network toxics through the Toxiproxy server at URL instead of the"
             " embedded chaos proxy (default: $TOXIPROXY_URL, else embedded).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SCENARIO_MARKER}(*names, category=None): run the test once per scenario:"
        " built-in names, glob patterns (cert-*), files, or every built-in of a category"
        f" ({', '.join(CATEGORIES)}); the test's smtp_scenario() runs it.",
    )
    config.addinivalue_line(
        "markers",
        f"{HARNESS_MARKER}(check_verdict=True): with check_verdict=False, a failed verdict"
        " of smtp_scenario does not fail the test at teardown.",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption(SEED_OPTION)
    url = config.getoption(TOXIPROXY_OPTION)
    dirs = config.getoption(SCENARIOS_OPTION)
    if seed is None and not url and not dirs:
        return None
    parts = [f"seed={seed if seed is not None else 'random per run'}",
             f"chaos={url or 'embedded'}"]
    if dirs:
        parts.append(f"scenarios={', '.join(dirs)}")
    return "smtp-fault-harness: " + ", ".join(parts)


# -- parametrising over scenarios ----------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(SCENARIO_MARKER)
    if marker is None:
        return
    if "smtp_scenario_name" not in metafunc.fixturenames:
        pytest.fail(
            f"{metafunc.definition.nodeid}: @pytest.mark.{SCENARIO_MARKER} parametrises the"
            " smtp_scenario fixture, which this test does not use; add smtp_scenario to its"
            " arguments and run `with smtp_scenario() as run:` around the client.",
            pytrace=False)
    dirs = [Path(d) for d in metafunc.config.getoption(SCENARIOS_OPTION)]
    names = select_scenarios(marker.args, marker.kwargs.get("category"), dirs)
    metafunc.parametrize("smtp_scenario_name", names, indirect=True, ids=names)


def select_scenarios(patterns: Sequence[object], category: object,
                     dirs: Sequence[Path] = ()) -> list[str]:
    """The scenario names a marker selects, in the order given, without repeats."""
    from harness.model.builtin_scenarios import builtin_names
    from harness.model.errors import did_you_mean

    known = sorted({p.stem for d in dirs for p in (*d.glob("*.yaml"), *d.glob("*.yml"))}
                   | set(builtin_names()))
    chosen: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            pytest.fail(
                f"@pytest.mark.{SCENARIO_MARKER}({pattern!r}): give scenario names as strings",
                    pytrace=False)
        if pattern.endswith((".yaml", ".yml")) or "/" in pattern:
            chosen.append(pattern)  # a file: loaded (and checked) when the test runs
            continue
        matched = fnmatch.filter(known, pattern)
        if not matched:
            pytest.fail(
                f"@pytest.mark.{SCENARIO_MARKER}: no scenario {pattern!r}"
                f"{did_you_mean(pattern, known)} (`harness list` names the built-ins)",
                    pytrace=False)
        chosen += matched
    if category is not None:
        if category not in CATEGORIES:
            pytest.fail(
                f"@pytest.mark.{SCENARIO_MARKER}(category={category!r}): allowed categories:"
                f" {', '.join(CATEGORIES)}",
                    pytrace=False)
        chosen += [n for n in known if n.startswith(CATEGORIES[str(category)])]
    if not chosen:
        pytest.fail(
            f"@pytest.mark.{SCENARIO_MARKER}() selects nothing: give names, patterns or"
            " category=",
            pytrace=False)
    return list(dict.fromkeys(chosen))


# -- settings a project may override -----------------------------------------------------


@dataclass(frozen=True)
class SMTPTimeouts:
    """``client_s``: how long ``run.call(client)`` lets a client run; ``settle_s``: how long
    a run waits, after the client, for its connections to end."""

    client_s: float = 30.0
    settle_s: float = 5.0


@pytest.fixture(scope="session")
def smtp_listen_host() -> str:
    """Where the fake servers and proxies listen: loopback."""
    return "127.0.0.1"


@pytest.fixture(scope="session")
def smtp_seed(pytestconfig: pytest.Config) -> int | None:
    """The seed of every run (``--harness-seed``); None draws one per run."""
    seed: int | None = pytestconfig.getoption(SEED_OPTION)
    return seed


@pytest.fixture(scope="session")
def smtp_chaos_backend(pytestconfig: pytest.Config) -> str | None:
    """A Toxiproxy URL (``--harness-toxiproxy``, else ``$TOXIPROXY_URL``), or None for the
    embedded chaos proxy."""
    url: str | None = pytestconfig.getoption(TOXIPROXY_OPTION) or os.environ.get(
        "TOXIPROXY_URL") or None
    return url


@pytest.fixture(scope="session")
def smtp_timeouts() -> SMTPTimeouts:
    return SMTPTimeouts()


@pytest.fixture(scope="session")
def smtp_scenario_dirs(pytestconfig: pytest.Config) -> tuple[Path, ...]:
    """Folders searched for scenario names before the built-ins (``--harness-scenarios``)."""
    return tuple(Path(d) for d in pytestconfig.getoption(SCENARIOS_OPTION))


# -- the engine, once per session (per worker under xdist) ------------------------------


@pytest.fixture(scope="session")
def smtp_engine(
    smtp_listen_host: str,
    smtp_seed: int | None,
    smtp_chaos_backend: str | None,
    smtp_timeouts: SMTPTimeouts,
    smtp_scenario_dirs: tuple[Path, ...],
) -> Iterator[Engine]:
    """The engine of the session: fake servers started once, reset by every run."""
    from harness.engine import Engine

    engine = Engine(host=smtp_listen_host, seed=smtp_seed, toxiproxy_url=smtp_chaos_backend,
                    scenario_dirs=smtp_scenario_dirs, settle_s=smtp_timeouts.settle_s,
                    client_timeout_s=smtp_timeouts.client_s)
    with engine:
        yield engine


# -- per test: only a reset ------------------------------------------------------------


@pytest.fixture
def smtp_server(smtp_engine: Engine) -> FakeSMTPServer:
    """The session's plain fake server, with no faults and an empty timeline.

    ``smtp_server.use([faults.Reply(at="rcpt", reply="451 4.7.1 Later")])`` gives it
    faults; ``smtp_server.timeline`` and ``smtp_server.messages`` say what happened.
    """
    return smtp_engine.prepare(())


@pytest.fixture
def smtp_chaos(
    smtp_engine: Engine, smtp_server: FakeSMTPServer, smtp_chaos_backend: str | None
) -> Iterator[ChaosProxy | ToxiproxyBackend]:
    """A chaos proxy in front of ``smtp_server``, enabled and without toxics; it shares the
    server's timeline. Send the client to ``smtp_chaos.host``/``.port``."""
    if smtp_chaos_backend:
        from harness.chaos.backend import ToxiproxyBackend

        backend = ToxiproxyBackend(smtp_chaos_backend, (smtp_server.host, smtp_server.port),
                                   recorder=smtp_server.recorder)
        backend.start()
        yield backend
        backend.stop()
        return
    proxy = smtp_engine.proxy(smtp_server)
    proxy.reset()
    proxy.down = None
    yield proxy


@pytest.fixture
def smtp_scenario_name(request: pytest.FixtureRequest) -> str | None:
    """The scenario ``@pytest.mark.smtp_scenario`` chose for this test, if any."""
    name: str | None = getattr(request, "param", None)
    return name


class ScenarioRunner:
    """What ``smtp_scenario`` gives a test: call it to make a run.

    ``smtp_scenario("banner-421-throttle")``, a file path, a
    :class:`~harness.model.Scenario`, a :class:`~harness.plan.Plan` or a list of
    faults; with no argument, the scenario the marker chose. Use the run as a context
    manager around the client; every run's verdict is checked at teardown.
    """

    def __init__(self, engine: Engine, default: str | None) -> None:
        self.engine = engine
        self.default = default
        self.runs: list[Run] = []

    def __call__(self, spec: RunSpec | None = None, *, seed: int | None = None,
                 expect: Expectations | None = None) -> Run:
        __tracebackhide__ = True
        if spec is None:
            if self.default is None:
                pytest.fail(
                    "smtp_scenario() needs a scenario: a built-in name, a file, a Scenario,"
                    " a Plan or faults; or mark the test"
                    f" @pytest.mark.{SCENARIO_MARKER}(\"name\", ...) to run it once per"
                    " scenario",
                    pytrace=False)
            spec = self.default
        run = self.engine.run(spec, seed=seed, expect=expect)
        self.runs.append(run)
        return run


@pytest.fixture
def smtp_scenario(
    request: pytest.FixtureRequest,
    smtp_engine: Engine,
    smtp_scenario_name: str | None,
) -> Iterator[ScenarioRunner]:
    """Run a scenario around the test's own client; a failed verdict fails the test."""
    runner = ScenarioRunner(smtp_engine, smtp_scenario_name)
    request.node.stash[_RUNS] = runner.runs
    yield runner
    for run in runner.runs:
        if run.target is not None and not run.judged:
            run.finish()
    marker = request.node.get_closest_marker(HARNESS_MARKER)
    check = marker.kwargs.get("check_verdict", True) if marker is not None else True
    if not check or request.node.stash.get(_CALL_FAILED, False):
        return
    failed = [run for run in runner.runs if run.judged and not run.result.passed]
    if failed:
        pytest.fail("\n\n".join(_failure(run) for run in failed),
                    pytrace=False)


def _failure(run: Run) -> str:
    outcome = run.result.outcome.replace("-", " ")
    lines = [f"smtp-fault-harness: scenario {run.name!r} {outcome} (seed {run.seed};"
             f" rerun with {SEED_OPTION}={run.seed})"]
    lines += [f"  not exercised: {why}" for why in run.result.why]
    lines += [f"  {r.level} {r.name}: {r.detail}" for r in run.verdict.failures]
    lines.append("The transcript and the whole verdict are in the report sections below;"
                 f" opt out with @pytest.mark.{HARNESS_MARKER}(check_verdict=False).")
    return "\n".join(lines)


# -- report sections -------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.when == "call" and report.failed:
        item.stash[_CALL_FAILED] = True
    runs = item.stash.get(_RUNS, None)
    if runs and report.failed:
        for run in runs:
            if not run.judged:
                continue
            report.sections.append(
                (f"SMTP transcript: {run.name}", run.transcript() or "(no connection)"))
            report.sections.append((f"Harness verdict: {run.name}", str(run.verdict)))
    return report
