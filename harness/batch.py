"""Many scenarios in one go: resolve names, files and folders; run them, in parallel.

Each scenario is one :class:`~harness.run.Run` with its own server, proxy, ports and
recorder, so ``jobs > 1`` only changes how long the batch takes; the timer noise is
calibrated once, first, and every timing verdict is judged against it. A ``stop`` event
(set on Ctrl-C or SIGTERM) ends the batch early: scenarios not yet started are reported
as interrupted, and the ones running are judged on what happened so far.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.clients import Client, CommandClient
from harness.errors import ClientError
from harness.model import Problem, Scenario, ScenarioError
from harness.model.builtin_scenarios import builtin_names, builtin_path
from harness.outcome import RunResult
from harness.run import Run, not_started, time_limit
from harness.verdicts import Calibration


def resolve(specs: Sequence[str]) -> list[Scenario]:
    """Scenarios from files, folders (every ``*.yaml`` in it) and built-in names; none
    given means the whole built-in catalogue. Every problem of every file is reported."""
    paths: list[Path] = []
    problems: list[Problem] = []
    for spec in specs or builtin_names():
        path = Path(spec)
        if path.is_dir():
            found = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
            if not found:
                problems.append(Problem(spec, None, "", "expected a folder of *.yaml scenario"
                                        " files, found none"))
            paths += found
        elif path.is_file():
            paths.append(path)
        elif spec.endswith((".yaml", ".yml")) or "/" in spec:
            problems.append(Problem(spec, None, "", "expected a scenario file, no such file"))
        else:
            try:
                paths.append(builtin_path(spec))
            except ScenarioError as error:
                problems += error.problems
    scenarios: list[Scenario] = []
    for path in paths:
        try:
            scenarios.append(Scenario.from_path(path))
        except ScenarioError as error:
            problems += error.problems
    if problems:
        raise ScenarioError(problems)
    return scenarios


def client_for(scenario: Scenario, command: Sequence[str]) -> Client:
    """The command given on the command line, else the scenario's own ``client.command``."""
    if command:
        return CommandClient(command, env=scenario.client.env)
    if scenario.client.command is None:
        raise ClientError(
            f"scenario {scenario.name!r} names no client: give the client command after --,"
            " e.g. harness run SCENARIO -- ./send-mail --host {host} --port {port}"
        )
    return CommandClient(scenario.client.command, env=scenario.client.env)


def run_batch(
    scenarios: Sequence[Scenario],
    command: Sequence[str],
    *,
    jobs: int = 1,
    seed: int | None = None,
    timeout_s: float | None = None,
    calibration: Calibration | None = None,
    toxiproxy_url: str | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[Run], None] = lambda run: None,
    on_result: Callable[[RunResult], None] = lambda result: None,
) -> list[RunResult]:
    """Run every scenario (``jobs`` at a time); results come back in the given order.

    ``timeout_s`` is the time limit of scenarios that set none of their own; ``on_start``
    sees each run once its server listens (to watch its progress), ``on_result`` each
    result as it is judged.
    """
    clients = [client_for(scenario, command) for scenario in scenarios]  # fail before running
    stop = stop or threading.Event()

    def one(index: int) -> RunResult:
        scenario = scenarios[index]
        if stop.is_set():
            result = not_started(scenario, seed)
        else:
            limit, source = time_limit(scenario, timeout_s)
            run = Run(scenario, seed=seed, calibration=calibration, toxiproxy_url=toxiproxy_url,
                      time_limit_s=limit, time_limit_from=source, stop=stop)
            with run:
                on_start(run)
                run.run_client(clients[index])
            result = run.result
        on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="scenario") as pool:
        return list(pool.map(one, range(len(scenarios))))
