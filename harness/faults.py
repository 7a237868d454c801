"""The fault kinds, by the names scenarios use.

Each fault fires ``at`` a phase, on some ``attempts``, optionally only when the command
argument contains ``match``, with a ``probability`` drawn from the run's seed.
"""

from harness.attempts import PHASES, Attempts, Phase
from harness.smtp.faults.auth_failure import AuthFailure
from harness.smtp.faults.base import Fault, FaultContext
from harness.smtp.faults.capabilities import Capabilities
from harness.smtp.faults.close import Close
from harness.smtp.faults.connection_limit import ConnectionLimit
from harness.smtp.faults.delay import Delay
from harness.smtp.faults.gather import Gather
from harness.smtp.faults.greylist import Greylist
from harness.smtp.faults.handshake_failure import HandshakeFailure
from harness.smtp.faults.hang import Hang
from harness.smtp.faults.idle_timeout import IdleTimeout
from harness.smtp.faults.inject_after_starttls import InjectAfterStartTLS
from harness.smtp.faults.rate_limit import RateLimit
from harness.smtp.faults.registry import fault_kinds
from harness.smtp.faults.reply import Reply
from harness.smtp.faults.reset import Reset
from harness.smtp.faults.schedule import FaultSchedule
from harness.smtp.faults.size_limit import SizeLimit
from harness.smtp.faults.stop_reading import StopReading
from harness.smtp.faults.store_then_drop import StoreThenDrop
from harness.smtp.faults.strip_starttls import StripStartTLS
from harness.smtp.faults.too_many_recipients import TooManyRecipients

KINDS: dict[str, type[Fault]] = fault_kinds()
"""Every fault kind by its name: each module of ``harness/smtp/faults`` registers its own."""

__all__ = [
    "KINDS",
    "PHASES",
    "Attempts",
    "AuthFailure",
    "Capabilities",
    "Close",
    "ConnectionLimit",
    "Delay",
    "Fault",
    "FaultContext",
    "FaultSchedule",
    "Gather",
    "Greylist",
    "HandshakeFailure",
    "Hang",
    "IdleTimeout",
    "InjectAfterStartTLS",
    "Phase",
    "RateLimit",
    "Reply",
    "Reset",
    "SizeLimit",
    "StopReading",
    "StoreThenDrop",
    "StripStartTLS",
    "TooManyRecipients",
]
