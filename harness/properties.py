"""The properties every correct SMTP client keeps, checked against any fault plan.

:func:`check_properties` runs a client once against a plan on a shared
:class:`~harness.engine.Engine` and judges it by what the plan makes certain:

- **delivered exactly once** when every fault is transient and the client's attempt
  budget outlasts them (RFC 5321 §4.5.4.1; one extra copy per store-then-drop is
  RFC 1047's gap, reported as a risk, not a failure);
- **never retried after a permanent failure** (a 5yz to the greeting, MAIL, RCPT, DATA
  or the final dot; RFC 5321 §4.2.1);
- **delays that follow the client's declared policy** (the backoff checks);
- **bounded attempts**: never more connections than the declared budget;
- **nothing more on a connection after 421** (RFC 5321 §3.8);
- **never plaintext after a TLS failure**, and no AUTH before TLS (RFC 3207, RFC 8314);
- **finishes**: a client still running after ``policy.time_limit_s`` hangs somewhere.

A failure raises :class:`PropertyFailure` whose message holds the broken properties,
the transcript, and the plan as a scenario file, ready to save as a regression test.
In a Hypothesis test, that message belongs to the shrunk (minimal) plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness import faults
from harness.clients import Target
from harness.engine import Engine, Run
from harness.errors import InvalidFaultPlan
from harness.faults import PHASES, Fault
from harness.plan import Plan
from harness.verdicts import AttemptBounds, BackoffPolicy, Expectations, Verdict

__all__ = ["ClientPolicy", "PropertyFailure", "check_properties", "expected_outcome",
           "property_expectations"]

Ending = Literal["delivered", "refused", "exhausted", "unknown"]
"""What a correct client's run of a plan ends in: the message delivered; refused for good
(a permanent failure); still failing when the attempt budget runs out; or not certain
(a TLS attack, where giving up and retrying are both fine)."""

_PERMANENT_PHASES = frozenset({"banner", "mail", "rcpt", "data", "dot", "starttls"})
_AFTER_DELIVERY = frozenset({"quit"})


@dataclass(frozen=True)
class ClientPolicy:
    """What the client under test declares about itself.

    ``max_attempts``: connections it makes for one message at most. ``backoff``: its
    retry delays (keep them small in property tests: milliseconds). ``gives_up_within_s``:
    optional bound from first attempt to giving up. ``time_limit_s``: past this, one run
    of the client counts as hung (it has no timeout somewhere).
    """

    max_attempts: int
    backoff: BackoffPolicy | None = None
    gives_up_within_s: float | None = None
    time_limit_s: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) \
                or self.max_attempts < 1:
            raise InvalidFaultPlan(
                f"ClientPolicy(max_attempts={self.max_attempts!r}): an integer >= 1"
            )
        if not isinstance(self.time_limit_s, (int, float)) or self.time_limit_s <= 0:
            raise InvalidFaultPlan(
                f"ClientPolicy(time_limit_s={self.time_limit_s!r}): seconds above 0"
            )


class PropertyFailure(AssertionError):
    """A client broke a property on a plan. ``scenario_yaml`` reproduces it with
    ``harness run`` or the ``smtp_scenario`` fixture."""

    def __init__(self, message: str, *, verdict: Verdict, scenario_yaml: str,
                 transcript: str) -> None:
        super().__init__(message)
        self.verdict = verdict
        self.scenario_yaml = scenario_yaml
        self.transcript = transcript

    def save(self, path: str | Path) -> Path:
        """Write the plan as a scenario file (folders created)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.scenario_yaml, encoding="utf-8")
        return target


# -- what the plan makes certain ------------------------------------------------------


def effect(fault: Fault) -> Literal["permanent", "transient", "harmless", "uncertain"]:
    """How one fault, when it fires, bears on the message."""
    if isinstance(fault, faults.Reply):
        if fault.at in _AFTER_DELIVERY:
            return "harmless"
        if fault.parsed.is_permanent and fault.at in _PERMANENT_PHASES:
            return "permanent"
        if fault.parsed.code // 100 in (4, 5):
            return "transient"
        return "uncertain"
    if isinstance(fault, faults.Delay):
        return "harmless"
    if isinstance(fault, (faults.Close, faults.Reset)):
        return "harmless" if fault.at in _AFTER_DELIVERY else "transient"
    if isinstance(fault, (faults.StoreThenDrop, faults.Hang, faults.HandshakeFailure)):
        return "transient"
    return "uncertain"


def expected_outcome(plan: Plan, max_attempts: int) -> tuple[Ending, int]:
    """What a correct client with ``max_attempts`` does with ``plan``, and on which attempt.

    Attempts are walked in order; in each, faults fire in protocol order and the first
    that stops the attempt decides it. Faults with a ``match`` or a ``probability`` below
    1 make it ``unknown``.
    """
    outcome, attempt, _ = _walk(plan, max_attempts)
    return outcome, attempt


def _walk(plan: Plan, max_attempts: int) -> tuple[Ending, int, bool]:
    """:func:`expected_outcome`, and whether a store-then-drop stored the message on the
    way (then a copy arrived whatever the outcome: RFC 1047's gap)."""
    scheduled = plan.faults()
    stored = False
    for attempt in range(1, max_attempts + 1):
        here = sorted(
            (f for f in scheduled if attempt in f.selector),
            key=lambda f: (PHASES.index(f.at), f.after_bytes or 0),
        )
        stopped = False
        for fault in here:
            if fault.match is not None or fault.probability < 1.0:
                return "unknown", attempt, stored
            kind = effect(fault)
            if kind == "harmless":
                continue
            if kind == "permanent":
                return "refused", attempt, stored
            if kind == "uncertain":
                return "unknown", attempt, stored
            stored = stored or isinstance(fault, faults.StoreThenDrop)
            stopped = True
            break
        if not stopped:
            return "delivered", attempt, stored
    return "exhausted", max_attempts, stored


def property_expectations(plan: Plan, policy: ClientPolicy) -> Expectations:
    """The expectations :func:`check_properties` judges a run of ``plan`` by."""
    outcome, _, stored = _walk(plan, policy.max_attempts)
    delivered: Literal["once", "at-least-once", "never"] | None = None
    if outcome == "delivered":
        delivered = "once"  # one more copy per store-then-drop is excused, not required
    elif outcome in ("refused", "exhausted"):
        delivered = "at-least-once" if stored else "never"
    tls = plan.server_tls != "none"
    return Expectations(
        delivered=delivered,
        attempts=AttemptBounds(None, policy.max_attempts),
        backoff=policy.backoff,
        no_retry_after_permanent=True,
        closes_after_421=True,
        gives_up_within_s=policy.gives_up_within_s,
        no_plaintext_fallback=True if tls else None,
        no_plaintext_auth=True if tls else None,
    )


# -- running ----------------------------------------------------------------------------


def check_properties(
    engine: Engine,
    plan: Plan,
    client: Callable[[Target], object],
    *,
    policy: ClientPolicy,
    save_to: str | Path | None = None,
) -> Verdict:
    """Run ``client(target)`` once against ``plan`` and check every property.

    ``client`` sends one message to ``target.host:target.port`` (``target.tls`` and
    ``target.cafile`` for TLS) and may raise when it gives up; that is its way to report
    a failure, not a property broken. Returns the verdict; raises
    :class:`PropertyFailure` when a property fails. With ``save_to``, the failing plan
    is also written there as a scenario file (in a Hypothesis test the last write is the
    shrunk plan).
    """
    __tracebackhide__ = True
    expectations = property_expectations(plan, policy)
    with engine.run(plan, expect=expectations) as run:
        run.call(client, time_limit_s=policy.time_limit_s)
    verdict = run.verdict
    if verdict.passed:
        return verdict
    yaml_text = scenario_yaml(plan, expectations, verdict)
    failure = PropertyFailure(
        _message(run, verdict, yaml_text, save_to), verdict=verdict,
        scenario_yaml=yaml_text, transcript=run.transcript(),
    )
    if save_to is not None:
        failure.save(save_to)
    raise failure


def scenario_yaml(plan: Plan, expectations: Expectations, verdict: Verdict) -> str:
    """The plan and the expectations it broke as a scenario file, named by its content."""
    saved = Plan(plan.faults(), toxics=plan.toxics(), tls=plan.server_tls,
                 certificate=plan.certificate, expect=expectations)
    digest = hashlib.sha256(saved.to_yaml("x").encode()).hexdigest()[:8]
    broken = ", ".join(sorted({r.name for r in verdict.failures}))
    about = f"Found by a property test: the client broke {broken}."
    return saved.to_yaml(f"found-{digest}", about=about)


def _message(run: Run, verdict: Verdict, yaml_text: str, save_to: str | Path | None) -> str:
    failures = "\n".join(
        f"  {r.level} {r.name}: {r.detail}" for r in verdict.failures
    )
    saved = f"Saved to {save_to}.\n" if save_to is not None else ""
    return (
        f"the client broke {len(verdict.failures)} propert"
        f"{'y' if len(verdict.failures) == 1 else 'ies'} (seed {verdict.seed}):\n"
        f"{failures}\n\nTranscript:\n{_indent(run.transcript() or '(no connection)')}\n\n"
        f"{saved}The plan as a scenario file; save it (e.g. tests/scenarios/"
        f"{yaml_text.split(chr(10), 1)[0].removeprefix('name: ')}.yaml) and run it with"
        f" `harness run` or the smtp_scenario fixture to keep this bug fixed:\n"
        f"{yaml_text}"
    )


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
