"""The fault kinds, by the names scenarios use.

Each fault fires ``at`` a phase, on some ``attempts``, optionally only when the command
argument contains ``match``, with a ``probability`` drawn from the run's seed.
"""

from harness.smtp.faults.base import PHASES, Attempts, Fault, FaultContext, Phase
from harness.smtp.faults.close import Close
from harness.smtp.faults.connection_limit import ConnectionLimit
from harness.smtp.faults.delay import Delay
from harness.smtp.faults.greylist import Greylist
from harness.smtp.faults.hang import Hang
from harness.smtp.faults.plan import FaultPlan
from harness.smtp.faults.rate_limit import RateLimit
from harness.smtp.faults.reply import Reply
from harness.smtp.faults.reset import Reset
from harness.smtp.faults.store_then_drop import StoreThenDrop

KINDS: dict[str, type[Fault]] = {
    cls.kind: cls
    for cls in (Reply, Delay, Close, Reset, Hang, Greylist, ConnectionLimit, RateLimit,
                StoreThenDrop)
}

__all__ = [
    "KINDS",
    "PHASES",
    "Attempts",
    "Close",
    "ConnectionLimit",
    "Delay",
    "Fault",
    "FaultContext",
    "FaultPlan",
    "Greylist",
    "Hang",
    "Phase",
    "RateLimit",
    "Reply",
    "Reset",
    "StoreThenDrop",
]
