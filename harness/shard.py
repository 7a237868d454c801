"""Sharding: a deterministic, balanced share of the selected scenarios for one CI job.

CI systems already run jobs side by side (GitHub Actions matrices, GitLab ``parallel:``);
``harness run --shard I/N`` makes job I of N run its share, and ``harness merge`` puts the
shards' JSON reports back together. Every job computes the same split from the same
selection, without talking to the others: the split depends only on the scenarios' names
and expected durations. Slow scenarios are spread first (longest expected duration to the
least loaded shard), so the shards finish close together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ClientError
from harness.model import Scenario

BASE_S = 1.0
"""What a scenario with no declared wait is expected to take: connect, talk, settle."""

ROUND_TRIPS = 10
"""Round trips of one SMTP exchange, each slowed by a ``latency`` toxic's delay."""

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 1) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"``: the second of three shards."""
        match = _SPEC.match(text)
        if match is None:
            raise ClientError(f"--shard {text}: expected I/N, e.g. --shard 2/3")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise ClientError(f"--shard {text}: expected 1 <= I <= N, got I={index}, N={count}")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def to_dict(self, selection: Sequence[Scenario]) -> dict[str, Any]:
        """What ``harness merge`` checks: which shard this is, of which selection."""
        return {"index": self.index, "count": self.count,
                "selection": [scenario.name for scenario in selection]}


def split(
    scenarios: Sequence[Scenario], count: int, expected: Mapping[str, float] | None = None
) -> list[list[Scenario]]:
    """``scenarios`` in ``count`` shares of about equal expected duration.

    Longest expected first, each to the share with the least expected time so far (the
    lower index on a tie); every share keeps the selection's order. ``expected`` gives
    measured durations by scenario name (from an earlier report); the others are
    estimated from the scenario itself (:func:`expected_s`).
    """
    durations = [_duration(scenario, expected or {}) for scenario in scenarios]
    order = sorted(range(len(scenarios)),
                   key=lambda i: (-durations[i], scenarios[i].name, i))
    loads = [0.0] * count
    owner = [0] * len(scenarios)
    for i in order:
        share = min(range(count), key=lambda s: (loads[s], s))
        loads[share] += durations[i]
        owner[i] = share
    return [[scenarios[i] for i in range(len(scenarios)) if owner[i] == share]
            for share in range(count)]


def select(scenarios: Sequence[Scenario], shard: Shard,
           expected: Mapping[str, float] | None = None) -> list[Scenario]:
    """The scenarios shard ``shard`` runs."""
    return split(scenarios, shard.count, expected)[shard.index - 1]


def _duration(scenario: Scenario, expected: Mapping[str, float]) -> float:
    measured = expected.get(scenario.name)
    return measured if measured is not None else expected_s(scenario)


def expected_s(scenario: Scenario) -> float:
    """A scenario's expected duration from what it declares, for a client that behaves.

    Every wait it declares (fault delays, greylisting, link latency, the proxy down for a
    while) adds up; a server or link that never answers lasts until the client gives up,
    which the scenario bounds by ``gives-up-within`` or its time limit.
    """
    document = scenario.to_dict()
    waits = BASE_S
    never_answers = False
    for fault in document.get("faults", ()):
        waits += _seconds(fault.get("delay")) + _seconds(fault.get("greylist"))
        never_answers |= fault.get("hang") is True
    for item in document.get("network", ()):
        waits += _seconds(item.get("for_s")) + _seconds(item.get("latency")) / 1000 * ROUND_TRIPS
        never_answers |= item.get("toxic") == "timeout" and not item.get("timeout")
    if never_answers:
        limit = scenario.client.timeout_s
        gives_up = document.get("expect", {}).get("gives-up-within")
        waits += min(limit, _seconds(gives_up) or limit)
    return min(waits, scenario.client.timeout_s)


def _seconds(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def durations_from(path: str | Path) -> dict[str, float]:
    """Measured durations by scenario name, from a JSON report of an earlier run (or an
    earlier merge): what ``--durations`` reads."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(s["scenario"]): float(s["duration_s"]) for s in report["scenarios"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ClientError(f"--durations {path}: expected a JSON report of harness run,"
                          f" could not read it ({error.__class__.__name__}: {error})") from None


def share(selection: list[Scenario], shard_text: str | None,
          durations_path: str | None) -> tuple[list[Scenario], dict[str, Any] | None]:
    """What ``harness run`` runs: the whole selection, or with ``--shard I/N`` its share
    and the record of it that the JSON report carries for ``harness merge``."""
    if shard_text is None:
        if durations_path is not None:
            raise ClientError("--durations balances shards: give --shard I/N with it")
        return selection, None
    shard = Shard.parse(shard_text)
    expected = durations_from(durations_path) if durations_path is not None else None
    return select(selection, shard, expected), shard.to_dict(selection)
