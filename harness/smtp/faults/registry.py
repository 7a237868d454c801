"""All fault kinds, found by importing every module of this package.

A fault kind's module defines its class, which registers itself (:data:`REGISTRY`): a
new kind is one new module here, with no list to extend anywhere else.
"""

from __future__ import annotations

import importlib
import pkgutil

from harness.smtp import faults as package
from harness.smtp.faults.base import REGISTRY, Fault


def fault_kinds() -> dict[str, type[Fault]]:
    """Every fault kind by its name, sorted by name."""
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(REGISTRY.items()))
