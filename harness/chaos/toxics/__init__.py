"""The toxic types, by the names Toxiproxy registers them under.

Each module of this package defines one type, which registers itself: a new toxic is one
new module here.
"""

import importlib
import pkgutil

from harness.chaos.toxics.bandwidth import Bandwidth
from harness.chaos.toxics.base import REGISTRY, ToxicType
from harness.chaos.toxics.latency import Latency
from harness.chaos.toxics.limit_data import LimitData
from harness.chaos.toxics.noop import Noop
from harness.chaos.toxics.reset_peer import ResetPeer
from harness.chaos.toxics.slicer import Slicer
from harness.chaos.toxics.slow_close import SlowClose
from harness.chaos.toxics.timeout import Timeout

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

TYPES: dict[str, type[ToxicType]] = dict(sorted(REGISTRY.items()))
"""Every toxic type by its name."""

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
