"""What a scenario expects of the client: plain frozen values, no behaviour.

The scenario file's ``expect:`` section is validated into these values; the checks in
``harness.verdicts`` read them. Each field left at ``None`` is simply not checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Level = Literal["violation", "deviation", "advisory"]
Delivered = Literal["once", "at-least-once", "at-most-once", "never"]
Jitter = Literal["none", "full", "equal", "decorrelated"]
ClientExit = Literal["zero", "non-zero", "matches-delivery"]


@dataclass(frozen=True)
class AttemptBounds:
    """How many connections the client may make: ``min <= attempts <= max``."""

    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class BackoffPolicy:
    """A declared retry policy: delay before retry n (from 1) is drawn from
    ``jitter`` over the envelope ``min(cap_s, initial_s * factor ** (n - 1))``."""

    initial_s: float
    factor: float = 2.0
    cap_s: float | None = None
    jitter: Jitter = "none"


@dataclass(frozen=True)
class HerdSpec:
    """C6 (``harness.verdicts.herd``): ``delay_s`` is what every client would sleep before
    the retry that follows the synchronised failure, were there no jitter; None when the
    scenario does not declare it (the check is then advisory)."""

    delay_s: float | None = None


@dataclass(frozen=True)
class Expectations:
    """Everything a scenario may expect. ``backoff="increasing"`` means a generic
    "backs off" check with no declared policy.

    ``relax`` names deviation-level expectations the scenario accepts as advisory;
    ``opportunistic`` makes accepting a bad certificate advisory.
    """

    delivered: Delivered | None = None
    attempts: AttemptBounds | None = None
    backoff: BackoffPolicy | Literal["increasing"] | None = None
    no_retry_after_permanent: bool | None = None
    closes_after_421: bool | None = None
    gives_up_within_s: float | None = None
    client_exit: ClientExit | None = None
    # TLS checks (their timeline facts come with the TLS layer)
    refuses_bad_certificate: bool | None = None
    no_plaintext_fallback: bool | None = None
    no_plaintext_auth: bool | None = None
    discards_injected_responses: bool | None = None
    re_ehlo_after_starttls: bool | None = None
    waits_for_ehlo_after_starttls: bool | None = None
    no_pipelining_after_starttls: bool | None = None
    # retry behaviour across clients and messages (herd.py, reset.py, budget.py)
    herd_disperses: HerdSpec | None = None
    resets_backoff: bool | None = None
    attempt_budget: int | None = None
    refused: int = 0
    """Of a workload's messages, how many the server refuses for good (a 5yz): they must
    not arrive, and every other one must (``delivered.all``)."""
    relax: frozenset[str] = field(default_factory=frozenset)
    opportunistic: bool = False
    """The client is an opportunistic MTA (RFC 7435, Postfix ``may``): delivering over a
    bad certificate is reported as advisory, with its evidence."""
