"""smtp-fault-harness: prove that an SMTP client survives a bad SMTP day.

A fake SMTP server replays faults per attempt (``harness.faults``), a chaos proxy applies
Toxiproxy's toxics (``harness.chaos``), everything is recorded in a timeline, and
verdicts (``harness.verdicts``) judge what the client did against a scenario's
expectations (``harness.model``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.version import __version__ as __version__

if TYPE_CHECKING:
    from harness import faults, strategies
    from harness.chaos import ChaosProxy, Toxic
    from harness.clients import CallableClient, ClientResult, CommandClient, Target
    from harness.engine import Engine
    from harness.errors import ClientError, HarnessError, InvalidFaultPlan, ServerError
    from harness.model import Scenario, ScenarioError, load_scenario
    from harness.outcome import RunResult
    from harness.plan import Plan
    from harness.properties import ClientPolicy, PropertyFailure, check_properties
    from harness.replies import SMTPReply
    from harness.run import run_scenario
    from harness.smtp.faults.schedule import FaultSchedule
    from harness.smtp.server import FakeSMTPServer
    from harness.timeline import Attempt, Event, Recorder, StoredMessage, Timeline
    from harness.verdicts import Expectations, Result, Verdict, judge

# Imported on first use, so that a client run as ``python -m harness.examples...`` (or a
# test session that loads the plugin) does not pay for pydantic, cryptography and aiosmtpd.
_HOMES = {
    "faults": "harness", "strategies": "harness",
    "Engine": "harness.engine", "Plan": "harness.plan",
    "ClientPolicy": "harness.properties", "PropertyFailure": "harness.properties",
    "check_properties": "harness.properties",
    "ChaosProxy": "harness.chaos", "Toxic": "harness.chaos",
    "CallableClient": "harness.clients", "ClientResult": "harness.clients",
    "CommandClient": "harness.clients", "Target": "harness.clients",
    "ClientError": "harness.errors", "HarnessError": "harness.errors",
    "InvalidFaultPlan": "harness.errors", "ServerError": "harness.errors",
    "SMTPReply": "harness.replies",
    "RunResult": "harness.outcome", "run_scenario": "harness.run",
    "Scenario": "harness.model", "ScenarioError": "harness.model",
    "load_scenario": "harness.model",
    "FaultSchedule": "harness.smtp.faults.schedule",
    "FakeSMTPServer": "harness.smtp.server",
    "Attempt": "harness.timeline", "Event": "harness.timeline", "Recorder": "harness.timeline",
    "StoredMessage": "harness.timeline", "Timeline": "harness.timeline",
    "Expectations": "harness.verdicts", "Result": "harness.verdicts",
    "Verdict": "harness.verdicts", "judge": "harness.verdicts",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    submodule = home == "harness"
    module = importlib.import_module(f"harness.{name}" if submodule else home)
    value = module if submodule else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])



__all__ = [
    "Attempt",
    "CallableClient",
    "ChaosProxy",
    "ClientError",
    "ClientPolicy",
    "ClientResult",
    "CommandClient",
    "Engine",
    "Event",
    "Expectations",
    "FakeSMTPServer",
    "FaultSchedule",
    "HarnessError",
    "InvalidFaultPlan",
    "Plan",
    "PropertyFailure",
    "Recorder",
    "Result",
    "RunResult",
    "SMTPReply",
    "Scenario",
    "ScenarioError",
    "ServerError",
    "StoredMessage",
    "Target",
    "Timeline",
    "Toxic",
    "Verdict",
    "check_properties",
    "faults",
    "judge",
    "load_scenario",
    "run_scenario",
    "strategies",
]
