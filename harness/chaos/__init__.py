"""The chaos layer: network toxics with Toxiproxy's names and semantics, per attempt.

The default backend is :class:`ChaosProxy`, embedded in the harness's event loop; it
also speaks Toxiproxy's HTTP API. :class:`ToxiproxyBackend` drives a real Toxiproxy
through toxiproxy-python with the same :class:`Toxic` list.
"""

from harness.chaos.errors import AlreadyExists, ChaosError, InvalidToxic, NotFound
from harness.chaos.proxy import ChaosProxy
from harness.chaos.toxic import Toxic
from harness.chaos.toxics import TYPES

__all__ = [
    "TYPES",
    "AlreadyExists",
    "ChaosError",
    "ChaosProxy",
    "InvalidToxic",
    "NotFound",
    "Toxic",
]
