"""smtp-fault-harness: prove that an SMTP client survives a bad SMTP day.

A fake SMTP server replays faults per attempt (``harness.faults``), a chaos proxy applies
Toxiproxy's toxics (``harness.chaos``), everything is recorded in a timeline, and
verdicts (``harness.verdicts``) judge what the client did against a scenario's
expectations (``harness.scenario``).
"""

from harness import faults
from harness.chaos import ChaosProxy, Toxic
from harness.clients import CallableClient, ClientResult, CommandClient, Target
from harness.errors import ClientError, HarnessError, InvalidFaultPlan, ServerError
from harness.replies import Reply
from harness.run import RunResult, run_scenario
from harness.scenario import Scenario, ScenarioError, load_scenario
from harness.smtp.faults.plan import FaultPlan
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Attempt, Event, Recorder, StoredMessage, Timeline
from harness.verdicts import Expectations, Result, Verdict, judge

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "CallableClient",
    "ChaosProxy",
    "ClientError",
    "ClientResult",
    "CommandClient",
    "Event",
    "Expectations",
    "FakeSMTPServer",
    "FaultPlan",
    "HarnessError",
    "InvalidFaultPlan",
    "Recorder",
    "Reply",
    "Result",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ServerError",
    "StoredMessage",
    "Target",
    "Timeline",
    "Toxic",
    "Verdict",
    "faults",
    "judge",
    "load_scenario",
    "run_scenario",
]
