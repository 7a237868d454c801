"""The JSON report: every scenario's verdict, attempts and messages, for tools.

Its shape is described by ``REPORT_SCHEMA`` (``harness schema --report`` prints it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.outcome import RunResult, counts
from harness.version import __version__

_NUMBER_OR_NULL = {"type": ["number", "null"]}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "smtp-fault-harness run report",
    "type": "object",
    "required": ["harness_version", "passed", "seed", "scenarios"],
    "properties": {
        "harness_version": {"type": "string"},
        "passed": {"type": "boolean", "description": "every scenario passed"},
        "outcomes": {"type": "object", "description": "how many scenarios ended each way",
                     "additionalProperties": {"type": "integer"}},
        "seed": {"type": ["integer", "null"], "description": "the --seed given, if any"},
        "shard": {
            "type": "object",
            "description": "harness run --shard I/N: which share of which selection",
            "required": ["index", "count", "selection"],
            "properties": {
                "index": {"type": "integer", "minimum": 1},
                "count": {"type": "integer", "minimum": 1},
                "selection": {"type": "array", "items": {"type": "string"}},
            },
        },
        "scenarios": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["scenario", "outcome", "passed", "seed", "attempts",
                             "messages", "expectations", "client"],
                "properties": {
                    "scenario": {"type": "string"},
                    "about": {"type": "string"},
                    "definition": {"type": "object",
                                   "description": "the scenario as run, as a scenario file"},
                    "outcome": {"enum": ["passed", "failed", "not-exercised", "interrupted"],
                                "description": "passed only when exercised and every check"
                                " held"},
                    "passed": {"type": "boolean", "description": "outcome is passed"},
                    "why_not_exercised": {"type": "array", "items": {"type": "string"},
                                          "description": "what happened instead (empty"
                                          " unless not exercised or interrupted)"},
                    "time_limit_s": _NUMBER_OR_NULL,
                    "summarised": {"type": "object", "description": "what a long run kept"
                                   " only in summary (message bodies past the memory budget;"
                                   " uneventful attempts counted, not listed)"},
                    "time_limit_from": {"type": "string",
                                        "description": "scenario, --timeout, default..."},
                    "seed": {"type": "integer", "description": "replays this run's faults"},
                    "duration_s": {"type": "number"},
                    "client": {
                        "type": "object",
                        "properties": {
                            "exit_code": {"type": ["integer", "null"]},
                            "timed_out": {"type": "boolean"},
                            "error": {"type": ["string", "null"]},
                            "stdout": {"type": "string"},
                            "stderr": {"type": "string"},
                        },
                    },
                    "attempts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["index", "start_s", "end_s", "closed_by"],
                            "properties": {
                                "index": {"type": "integer", "minimum": 1},
                                "start_s": {"type": "number"},
                                "end_s": _NUMBER_OR_NULL,
                                "closed_by": {"type": ["string", "null"]},
                                "events": {"type": "array"},
                            },
                        },
                    },
                    "messages": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["attempt", "message_id", "mail_from", "rcpt_to"],
                            "properties": {
                                "attempt": {"type": "integer"},
                                "message_id": {"type": ["string", "null"]},
                                "mail_from": {"type": "string"},
                                "rcpt_to": {"type": "array", "items": {"type": "string"}},
                                "size": {"type": "integer"},
                            },
                        },
                    },
                    "expectations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "level", "status", "detail"],
                            "properties": {
                                "name": {"type": "string"},
                                "level": {"enum": ["violation", "deviation", "advisory"]},
                                "status": {
                                    "enum": ["passed", "failed", "inconclusive", "skipped"]
                                },
                                "detail": {"type": "string"},
                                "evidence": {"type": "object"},
                            },
                        },
                    },
                    "fitted_policy": {"type": ["object", "null"]},
                    "calibration": {"type": "object"},
                },
            },
        },
    },
}


def json_report(results: Sequence[RunResult], seed: int | None,
                shard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return report_document([r.to_dict() for r in results], seed, shard)


def report_document(scenarios: Sequence[Mapping[str, Any]], seed: int | None,
                    shard: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report around its scenarios' records (a run's, or shards' merged)."""
    return {
        "harness_version": __version__,
        "passed": all(s["passed"] for s in scenarios),
        "outcomes": counts(s.get("outcome", "passed" if s["passed"] else "failed")
                           for s in scenarios),
        "seed": seed,
        **({"shard": dict(shard)} if shard is not None else {}),
        "scenarios": list(scenarios),
    }


def write_json(path: str | Path, results: Sequence[RunResult], seed: int | None,
               shard: Mapping[str, Any] | None = None) -> None:
    write_document(path, json_report(results, seed, shard))


def write_document(path: str | Path, document: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(document, indent=2, default=str) + "\n")
