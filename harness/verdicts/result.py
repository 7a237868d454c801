"""One expectation's outcome: what was checked, how bad a failure is, and the evidence.

Levels follow the reference and never blur: a *violation* breaks a MUST or a security
property, a *deviation* breaks a SHOULD or the client's own declared policy, an *advisory*
is best practice. A status of ``inconclusive`` means timing noise made the check
undecidable; it never fails a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from harness.verdicts.spec import Level

Status = Literal["passed", "failed", "inconclusive", "skipped"]

GENERAL = frozenset({"delivered", "attempts", "client-exit", "gives-up-within", "duplicate-risk"})
"""Results every kind of scenario may carry. The others (backoff, 421, permanence, the
TLS checks) are a scenario's *key* results: what it exists to test."""


@dataclass(frozen=True)
class Result:
    """The outcome of one expectation.

    ``name`` is the scenario file's spelling (``closes-after-421``; backoff's parts are
    ``backoff.floor``, ``backoff.growth``...). ``detail`` says what the client did and
    what to change; ``evidence`` holds the attempt numbers, times and expected values.
    """

    name: str
    level: Level
    status: Status
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> bool:
        """True for what the scenario exists to test (see :data:`GENERAL`): when every key
        result of a scenario is skipped, its situation never arose."""
        return self.name.partition(".")[0] not in GENERAL

    @property
    def fails(self) -> bool:
        """True when this result fails the verdict: a failed violation or deviation."""
        return self.status == "failed" and self.level != "advisory"

    def relaxed(self) -> Result:
        """The same result reported as advisory (the scenario accepts the deviation)."""
        return replace(self, level="advisory", evidence={**self.evidence, "relaxed": True})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "level": self.level,
            "status": self.status,
            "key": self.key,
            "detail": self.detail,
            "evidence": dict(self.evidence),
        }


def ms(seconds: float) -> str:
    """A duration for a message: ``0.250 s``."""
    return f"{seconds:.3f} s"
