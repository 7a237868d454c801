"""judge(): every expectation of a scenario over one timeline, added up to a Verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.timeline import Timeline
from harness.verdicts import checks, tls
from harness.verdicts.backoff import judge_backoff
from harness.verdicts.budget import attempt_budget
from harness.verdicts.calibration import Calibration
from harness.verdicts.delays import retries
from harness.verdicts.fitted import FittedPolicy, fit_policy
from harness.verdicts.herd import herd_disperses
from harness.verdicts.pipelining import no_pipelining_after_starttls
from harness.verdicts.reset import resets_backoff
from harness.verdicts.result import Result, Status
from harness.verdicts.spec import Expectations
from harness.verdicts.workload import every_message

__all__ = ["Result", "Status", "Verdict", "judge"]

_TLS: dict[str, Callable[[Timeline], Result]] = {
    "no_plaintext_fallback": tls.no_plaintext_fallback,
    "no_plaintext_auth": tls.no_plaintext_auth,
    "discards_injected_responses": tls.discards_injected_responses,
    "re_ehlo_after_starttls": tls.re_ehlo_after_starttls,
    "waits_for_ehlo_after_starttls": tls.waits_for_ehlo_after_starttls,
    "no_pipelining_after_starttls": no_pipelining_after_starttls,
}


@dataclass(frozen=True)
class Verdict:
    """Every result, and what the timing results were judged with.

    ``passed`` is False when any violation or deviation failed; advisories, inconclusive
    and skipped results never fail a verdict. ``fitted`` is the backoff policy the
    client's retries follow (None without retries).
    """

    results: tuple[Result, ...]
    calibration: Calibration
    fitted: FittedPolicy | None = None
    seed: int | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.fails]

    def result(self, name: str) -> Result:
        """The result named ``name`` (``delivered``, ``backoff.floor``...)."""
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no result {name!r}; results: {', '.join(r.name for r in self.results)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "seed": self.seed,
            "calibration": self.calibration.to_dict(),
            "fitted_policy": self.fitted.to_dict() if self.fitted else None,
            "results": [r.to_dict() for r in self.results],
        }

    def __str__(self) -> str:
        lines = [f"verdict: {'passed' if self.passed else 'FAILED'} (seed {self.seed})"]
        lines += [f"  {r.status:<12} {r.level:<9} {r.name}: {r.detail}" for r in self.results]
        if self.fitted is not None:
            lines.append(f"  observed backoff: {self.fitted.describe()}")
        return "\n".join(lines)


def judge(
    timeline: Timeline,
    expectations: Expectations,
    *,
    client_exit: int | None = None,
    calibration: Calibration | None = None,
    duration_s: float | None = None,
    seed: int | None = None,
    clients: int = 1,
    client_stopped: bool = False,
    messages: int = 1,
) -> Verdict:
    """Check every expectation that is set against ``timeline``.

    ``client_exit`` is the client's exit code when it is a process; ``calibration`` the
    timer noise measured at the start of the run (a conservative assumption otherwise);
    ``duration_s`` how long the run was observed, from the timeline's origin, which ends
    an attempt still open for ``gives-up-within``; ``clients`` how many instances of
    the client the run started (``herd-disperses``, ``attempt-budget``); ``client_stopped``
    says the harness stopped the client at its time limit, so it never gave up by itself;
    ``messages`` is how many distinct messages the scenario asked for (every one is
    judged when more than one).
    """
    cal = calibration or Calibration.assumed()
    e = expectations
    results: list[Result] = []
    if e.delivered is not None:
        results.append(checks.delivered(timeline, e.delivered, messages))
        if messages > 1:
            results.append(every_message(timeline, e.delivered, messages, e.refused))
    if (risk := checks.duplicate_risk(timeline)) is not None:
        results.append(risk)
    if e.attempts is not None:
        results.append(checks.attempts(timeline, e.attempts))
    if e.backoff is not None:
        backoff_results, fitted = judge_backoff(timeline, e.backoff, cal)
        results += backoff_results
    else:
        fitted = fit_policy(retries(timeline))
    if e.no_retry_after_permanent:
        results.append(checks.no_retry_after_permanent(timeline))
    if e.closes_after_421:
        results.append(checks.closes_after_421(timeline))
    if e.gives_up_within_s is not None:
        results.append(_stopped_by_harness(e.gives_up_within_s) if client_stopped
                       else checks.gives_up_within(timeline, e.gives_up_within_s, cal, duration_s))
    if e.client_exit is not None:
        results.append(checks.client_exit(e.client_exit, client_exit, timeline))
    if e.refuses_bad_certificate:
        results.append(tls.refuses_bad_certificate(timeline, e.opportunistic))
    results += [check(timeline) for field, check in _TLS.items() if getattr(e, field)]
    results += _fleet(timeline, e, cal, clients)
    if e.opportunistic:
        results = _opportunistic(results)
    return Verdict(tuple(_relax(r, e.relax) for r in results), cal, fitted, seed)


def _opportunistic(results: list[Result]) -> list[Result]:
    """An opportunistic client that delivered over a bad certificate did what it is
    documented to do: the delivery and the exit code that follow from that acceptance
    are advisory too, like the acceptance itself."""
    accepted = any(r.name == "refuses-bad-certificate" and r.status == "failed"
                   for r in results)
    if not accepted:
        return results
    follow = {"delivered", "client-exit"}
    return [r.relaxed() if r.name in follow and r.status == "failed" else r for r in results]


def _fleet(timeline: Timeline, e: Expectations, cal: Calibration, clients: int) -> list[Result]:
    """C6, C8 and C9: retries across client instances and across messages."""
    results: list[Result] = []
    if e.herd_disperses is not None:
        results.append(herd_disperses(timeline, e.herd_disperses.delay_s, cal, clients))
    if e.resets_backoff:
        results.append(resets_backoff(timeline, e.backoff, cal))
    if e.attempt_budget is not None:
        results.append(attempt_budget(timeline, e.attempt_budget, clients=clients))
    return results


def _stopped_by_harness(limit_s: float) -> Result:
    """A client the harness had to stop never gave up by itself: its last close was the
    harness's doing, not a decision the check could credit."""
    return Result(
        "gives-up-within", "violation", "failed",
        "The client never gave up by itself: it was still running at the run's time limit"
        f" and the harness stopped it. It must stop retrying within {limit_s:g} s and"
        " report the failure (RFC 5321 §4.5.4.1).",
        {"limit_s": limit_s, "stopped_by_harness": True},
    )


def _relax(result: Result, relax: frozenset[str]) -> Result:
    """A deviation the scenario relaxes (by its name, or ``backoff`` for all its parts)
    is reported as advisory."""
    if result.level == "deviation" and (
        result.name in relax or result.name.partition(".")[0] in relax
    ):
        return result.relaxed()
    return result
