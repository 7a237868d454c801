"""Expectations over a timeline, and the verdict they add up to.

``judge(timeline, expectations)`` runs every expectation that is set; each result carries
its level, status, a message for the developer and its evidence. Timing checks use the
timer noise that ``calibrate()`` measures at the start of a run.
"""

from harness.verdicts.calibration import Calibration, calibrate
from harness.verdicts.fitted import FittedPolicy
from harness.verdicts.result import Result, Status
from harness.verdicts.spec import AttemptBounds, BackoffPolicy, Expectations
from harness.verdicts.verdict import Verdict, judge

__all__ = [
    "AttemptBounds",
    "BackoffPolicy",
    "Calibration",
    "Expectations",
    "FittedPolicy",
    "Result",
    "Status",
    "Verdict",
    "calibrate",
    "judge",
]
