"""smtp-fault-harness: prove that an SMTP client survives a bad SMTP day.

A fake SMTP server replays faults per attempt (``harness.faults``), records everything
in a timeline, and keeps the messages it accepted.
"""

from harness import faults
from harness.errors import HarnessError, InvalidFaultPlan, ServerError
from harness.replies import Reply
from harness.smtp.faults.plan import FaultPlan
from harness.smtp.server import FakeSMTPServer
from harness.timeline import Attempt, Event, Recorder, StoredMessage, Timeline

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "Event",
    "FakeSMTPServer",
    "FaultPlan",
    "HarnessError",
    "InvalidFaultPlan",
    "Recorder",
    "Reply",
    "ServerError",
    "StoredMessage",
    "Timeline",
    "faults",
]
