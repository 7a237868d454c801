"""The chaos layer: network toxics with Toxiproxy's names and semantics, per attempt.

The default backend is :class:`ChaosProxy`, embedded in the harness's event loop;
:class:`ToxiproxyAPI` serves Toxiproxy's HTTP API for it. :class:`ToxiproxyBackend`
drives a real Toxiproxy through toxiproxy-python with the same :class:`Toxic` list;
:func:`chaos_backend` picks one (``TOXIPROXY_URL`` chooses the real one).
"""

from harness.chaos.api import ToxiproxyAPI
from harness.chaos.backend import ChaosBackend, ToxiproxyBackend, chaos_backend
from harness.chaos.errors import AlreadyExists, ChaosError, InvalidToxic, NotFound
from harness.chaos.proxy import ChaosProxy
from harness.chaos.toxic import Toxic
from harness.chaos.toxics import TYPES

__all__ = [
    "TYPES",
    "AlreadyExists",
    "ChaosBackend",
    "ChaosError",
    "ChaosProxy",
    "InvalidToxic",
    "NotFound",
    "Toxic",
    "ToxiproxyAPI",
    "ToxiproxyBackend",
    "chaos_backend",
]
