"""``harness merge``: the JSON reports of shards put back together as one run's.

Each shard of ``harness run --shard I/N`` writes a JSON report that names its shard and
the whole selection. Merging checks that every shard of one selection is there once (a
missing shard must never pass as a green build), orders the scenarios as the unsharded
run would, and reads each scenario back into a :class:`~harness.run.RunResult`, so the
JUnit and HTML reports, the console summary and the exit code come from the same code as
a run's. The merged JSON keeps each scenario's record exactly as its shard wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.clients import ClientResult, Target
from harness.errors import ClientError
from harness.model import Scenario
from harness.outcome import RunResult
from harness.report.json_report import report_document
from harness.timeline import Attempt, Event, StoredMessage, Timeline
from harness.verdicts import Calibration, FittedPolicy, Result, Verdict


@dataclass(frozen=True)
class Merged:
    """The merged JSON report and its scenarios read back as results, in run order."""

    document: dict[str, Any]
    results: list[RunResult]


def merge_files(paths: Sequence[str | Path]) -> Merged:
    """Read the reports at ``paths`` and merge them (see :func:`merge_documents`)."""
    documents = []
    for path in paths:
        try:
            documents.append((str(path), json.loads(Path(path).read_text(encoding="utf-8"))))
        except (OSError, ValueError) as error:
            raise ClientError(f"{path}: expected a JSON report of harness run, could not read"
                              f" it ({error.__class__.__name__}: {error})") from None
    return merge_documents(documents)


def merge_documents(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> Merged:
    """Merge ``(source, report)`` pairs. Shard reports must be every shard of one
    selection, once each, with one seed; reports without shards are concatenated."""
    if not documents:
        raise ClientError("merge: expected one JSON report or more, got none")
    for source, document in documents:
        if not isinstance(document, Mapping) or not isinstance(document.get("scenarios"), list):
            raise ClientError(f"{source}: expected a JSON report of harness run (an object"
                              " with a list of scenarios)")
    sharded = [source for source, document in documents if "shard" in document]
    if sharded and len(sharded) != len(documents):
        plain = next(source for source, document in documents if "shard" not in document)
        raise ClientError(f"{plain}: expected a shard's report (harness run --shard I/N), as"
                          f" {sharded[0]} is; merge shards of one run only")
    seeds = {document.get("seed") for _, document in documents}
    if len(seeds) > 1:
        raise ClientError("merge: expected reports of one run, got seeds"
                          f" {', '.join(sorted(map(str, seeds)))}")
    scenarios = (_in_selection_order(documents) if sharded
                 else [s for _, document in documents for s in document["scenarios"]])
    document = report_document(scenarios, documents[0][1].get("seed"))
    return Merged(document, [result_from_dict(s) for s in scenarios])


def _in_selection_order(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Any]:
    first_source, first = documents[0]
    count, selection = first["shard"]["count"], first["shard"]["selection"]
    seen: dict[int, str] = {}
    for source, document in documents:
        shard = document["shard"]
        if shard["count"] != count or shard["selection"] != selection:
            raise ClientError(f"{source}: shard {shard['index']}/{shard['count']} of another"
                              f" selection than {first_source}; merge the shards of one run")
        if shard["index"] in seen:
            raise ClientError(f"{source}: shard {shard['index']}/{count} again (also"
                              f" {seen[shard['index']]})")
        seen[shard["index"]] = source
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise ClientError(f"merge: expected all {count} shards, missing shard(s)"
                          f" {', '.join(f'{i}/{count}' for i in missing)}")
    by_name = {s["scenario"]: s for _, document in documents for s in document["scenarios"]}
    lost = [name for name in selection if name not in by_name]
    if lost or len(by_name) != len(selection):
        raise ClientError(f"merge: the shards do not hold their selection; missing:"
                          f" {', '.join(lost) or 'none'}")
    return [by_name[name] for name in selection]


def result_from_dict(data: Mapping[str, Any]) -> RunResult:
    """One scenario of a JSON report read back: what the reporters need of a run.

    Times come back in nanoseconds from the run's start; stored messages keep their
    envelope, not their content (the report does not carry it).
    """
    scenario = Scenario.from_dict(data["definition"], source=f"report of {data['scenario']}")
    verdict = Verdict(
        results=tuple(Result(r["name"], r["level"], r["status"], r["detail"],
                             r.get("evidence", {})) for r in data["expectations"]),
        calibration=_calibration(data["calibration"]),
        fitted=None if data.get("fitted_policy") is None else _fitted(data["fitted_policy"]),
        seed=data["seed"],
    )
    client = data["client"]
    return RunResult(
        scenario=scenario,
        seed=data["seed"],
        timeline=_timeline(data),
        verdict=verdict,
        client=ClientResult(client["exit_code"], client["duration_s"], client["timed_out"],
                            client["stdout"], client["stderr"], client["error"]),
        target=Target(data["target"]["host"], data["target"]["port"], data["target"]["tls"]),
        duration_s=data["duration_s"],
        why=tuple(data.get("why_not_exercised", ())),
        interrupted=data.get("outcome") == "interrupted",
        time_limit_s=data.get("time_limit_s"),
        time_limit_from=data.get("time_limit_from", "scenario"),
    )


def _ns(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1e9)


def _timeline(data: Mapping[str, Any]) -> Timeline:
    attempts = tuple(
        Attempt(
            index=a["index"],
            peer=None if a["peer"] is None else (a["peer"][0], a["peer"][1]),
            start_ns=round(a["start_s"] * 1e9),
            end_ns=_ns(a["end_s"]),
            closed_by=a["closed_by"],
            events=tuple(Event(round(e["t_s"] * 1e9), a["index"], e["kind"], e["text"],
                               e.get("data", {})) for e in a["events"]),
        )
        for a in data["attempts"]
    )
    messages = tuple(
        StoredMessage(m["attempt"], round(m["t_s"] * 1e9), m["mail_from"], tuple(m["rcpt_to"]),
                      m["message_id"], b"")
        for m in data["messages"]
    )
    return Timeline(0, attempts, messages)


def _calibration(data: Mapping[str, Any]) -> Calibration:
    return Calibration(samples=data["samples"], sleep_s=data["sleep_s"],
                       p50_s=data["overshoot_p50_s"], p99_s=data["overshoot_p99_s"],
                       q_s=data["overshoot_p999_s"], measured=data["measured"])


def _fitted(data: Mapping[str, Any]) -> FittedPolicy:
    return FittedPolicy(data["retries"], data["initial_s"], data["factor"], data["cap_s"],
                        data["jitter"], tuple(data["delays_s"]))
