"""The toxic types, by the names Toxiproxy registers them under."""

from harness.chaos.toxics.bandwidth import Bandwidth
from harness.chaos.toxics.base import ToxicType
from harness.chaos.toxics.latency import Latency
from harness.chaos.toxics.limit_data import LimitData
from harness.chaos.toxics.noop import Noop
from harness.chaos.toxics.reset_peer import ResetPeer
from harness.chaos.toxics.slicer import Slicer
from harness.chaos.toxics.slow_close import SlowClose
from harness.chaos.toxics.timeout import Timeout

TYPES: dict[str, type[ToxicType]] = {
    cls.type: cls
    for cls in (Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData, Noop)
}

__all__ = [
    "TYPES",
    "Bandwidth",
    "Latency",
    "LimitData",
    "Noop",
    "ResetPeer",
    "Slicer",
    "SlowClose",
    "Timeout",
    "ToxicType",
]
