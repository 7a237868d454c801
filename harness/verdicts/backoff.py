"""Backoff: the reference's checks C1, C3, C4, C5 and C7 against a declared policy (or
"increasing").

- ``backoff.floor`` (C1, violation): the client waited before each retry, at least the
  declared policy's lower bound. RFC 5321 §4.5.4.1: "The sender MUST delay retrying".
  Noise only lengthens delays, so this is hard: no slack beyond timer granularity.
- ``backoff.envelope`` (C5, deviation): no delay above the declared policy's upper bound
  plus the calibrated slack.
- ``backoff.cap`` (C4, deviation): no delay above the declared cap plus slack.
- ``backoff.growth`` (C3, deviation): the delays grow (by the declared factor, or at all
  for ``backoff: increasing``), from a Theil-Sen slope of log delays.
- ``backoff.jitter`` (C7, advisory): together, the delays have the declared full or equal
  jitter's shape (:mod:`harness.verdicts.jitter`).

Upper bounds have a noise band: a delay within ``bound + slack`` passes, one within
``bound + 2·slack`` (or an envelope under 20x the timer noise) is ``inconclusive``, only
beyond that does it fail. Growth fails only when no attribution of noise to the delays
could make them grow as required.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from harness.timeline import Timeline
from harness.verdicts.calibration import Calibration
from harness.verdicts.delays import RFC_RETRY, Retry, retries
from harness.verdicts.fitted import FittedPolicy, fit_policy, plateau_start
from harness.verdicts.jitter import SHAPES, jitter_shape
from harness.verdicts.result import Result, ms
from harness.verdicts.spec import BackoffPolicy, Level
from harness.verdicts.stats import (
    kendall_p_increasing,
    kendall_tau,
    median,
    prob_product_of_uniforms_at_most,
    theil_sen,
)

#: A full-jitter client whose delays are all this unlikely under its own policy did not wait.
FLOOR_ALPHA = 1e-4
#: With no declared policy, a retry within this of the failure is "did not wait at all".
HAMMER_S = 0.005
HAMMER_MIN_RETRIES = 3
#: From this many retries, one may come later than HAMMER_S (a reconnect slowed by load)
#: and the rest still prove no wait: a full-jitter client starting at 10 ms draws four of
#: five under 5 ms about once in a thousand runs, one starting at 100 ms never.
HAMMER_SPARE_FROM = 5
#: Declared factor m passes growth in [m·(1-δ), m·(1+δ)]; "increasing" needs m̂ ≥ 1.1,
#: and so does its noise-allowing lower bound: a constant-delay client whose later
#: retries the machine stretched can fit 1.1 (simulated: 4-27 % of such runs under
#: stalls passed on the point estimate, about 1 in 2,000 on the bound; the bundled
#: full-jitter client loses about 1 pass in 100 to inconclusive).
FACTOR_TOLERANCE = 0.25
INCREASING_FACTOR = 1.1
#: "increasing" passes on this many retries before a plateau: a constant-delay client
#: whose delays a burst of load (unseen by either calibration) stretched passed 14 times
#: in 20,000 simulated runs on three, once on four; the bundled client's idle passes went
#: from 92 % to 89 %, the rest inconclusive (``python -m benchmarks.bench_growth``).
GROWING_RETRIES = 4
#: Upper bounds fail only when this many retries break them: one lone long delay is a
#: stall of the machine (GC, CPU starvation) as often as the client's doing.
CORROBORATION = 2
#: The least noise margin growth allows each delay (see :func:`growth_margin_s`).
GROWTH_NOISE_FLOOR_S = 0.005
#: ``backoff: increasing`` fails only delays this many noise margins long, or longer.
GROWTH_NOISE_RATIO = 10
#: Delays varying less than this (coefficient of variation) look deterministic.
DETERMINISTIC_CV = 0.25


def envelope_s(policy: BackoffPolicy, n: int) -> float:
    """``min(cap, initial · factor^(n-1))``: the declared envelope of retry ``n``."""
    value = policy.initial_s * policy.factor ** (n - 1)
    return value if policy.cap_s is None else min(policy.cap_s, value)


def support_s(policy: BackoffPolicy, n: int, previous_s: float | None) -> tuple[float, float]:
    """Where the declared policy may put retry ``n``'s delay: ``(low, high)``.

    Decorrelated jitter (Brooker 2015) draws ``uniform(initial, factor · previous)``,
    capped; the previous *observed* delay stands in for the previous sleep (it is never
    shorter, so the bound stays generous).
    """
    e = envelope_s(policy, n)
    if policy.jitter == "full":
        return 0.0, e
    if policy.jitter == "equal":
        return e / 2, e
    if policy.jitter == "decorrelated":
        cap = math.inf if policy.cap_s is None else policy.cap_s
        low = min(cap, policy.initial_s)
        high = min(cap, policy.factor * (previous_s if previous_s is not None else low))
        return low, max(low, high)
    return e, e


def judge_backoff(
    timeline: Timeline,
    policy: BackoffPolicy | Literal["increasing"],
    calibration: Calibration,
) -> tuple[list[Result], FittedPolicy | None]:
    """Every backoff result for ``policy``, and the fitted policy (None without retries)."""
    found = retries(timeline)
    fitted = fit_policy(found)
    declared = policy if isinstance(policy, BackoffPolicy) else None
    reaction = reaction_s(found, declared) if declared is not None else 0.0
    results = [floor(found, declared, calibration), growth(found, declared, calibration, reaction)]
    if declared is not None:
        results.append(envelope(found, declared, calibration, reaction))
        if declared.cap_s is not None:
            results.append(cap(found, declared.cap_s, calibration, reaction))
        if declared.jitter in SHAPES:
            results.append(jitter_shape([(r, envelope_s(declared, r.n)) for r in found],
                                        declared.jitter, calibration))
    return results, fitted


# -- C1: the floor -------------------------------------------------------------------


def floor(found: Sequence[Retry], policy: BackoffPolicy | None,
          calibration: Calibration | None = None) -> Result:
    """C1. ``calibration`` widens the band in which "no wait at all" and a short wait
    cannot be told apart (without a declared policy): there the result is inconclusive,
    never passed; it fails only below :data:`HAMMER_S`, which noise cannot cause."""
    name = "backoff.floor"
    level: Level = "violation"
    if not found:
        return Result(name, level, "skipped", "The client made no retry; nothing to judge.")
    rows: list[dict[str, Any]] = []
    breaches: list[dict[str, Any]] = []
    for r, (low, _) in _supports(found, policy):
        rows.append({"attempt": r.attempt, "n": r.n, "waited_s": round(r.lower_s, 6),
                     "floor_s": round(low, 6), "after": r.failed_by})
        if low > 0 and r.lower_s < low - _early(low):
            breaches.append(rows[-1])
    evidence: dict[str, Any] = {"retries": rows}
    sure = [b for b in breaches if not _ended_by_close(b["after"])]
    if breaches and not sure:
        b = breaches[0]
        return Result(name, level, "inconclusive", (
            f"Attempt {b['attempt']} came {ms(b['waited_s'])} after attempt {b['attempt'] - 1}"
            f" ended, under the policy's floor of {ms(b['floor_s'])}, but that attempt ended"
            f" by a close ({b['after']}), which a busy machine records late: when the client"
            " began to wait is not on the timeline, so the spacing proves nothing."
        ), {**evidence, "too_early": breaches})
    if sure:
        b = sure[0]
        return Result(name, level, "failed", (
            f"Attempt {b['attempt']} came {ms(b['waited_s'])} after attempt {b['attempt'] - 1}"
            f" failed, under the policy's floor of {ms(b['floor_s'])}"
            f" ({len(sure)} of {len(rows)} retries too early); {RFC_RETRY}: the sender"
            " MUST delay retrying. Sleep the declared delay before reconnecting."
        ), {**evidence, "too_early": sure})
    # what follows judges short spacings as a whole: only those that bound the sleep
    timed = [r for r in found if not _ended_by_close(r.failed_by)]
    if policy is not None and timed and all(row["floor_s"] == 0 for row in rows):
        # full jitter: any single delay may be short; all of them this short is not luck
        scaled = math.prod(min(1.0, r.lower_s / envelope_s(policy, r.n)) for r in timed)
        p = prob_product_of_uniforms_at_most(scaled, len(timed))
        evidence["p_value_full_jitter"] = p
        if p < FLOOR_ALPHA:
            return Result(name, level, "failed", (
                f"Every retry came this soon after its failure (at most"
                f" {ms(max(r.lower_s for r in timed))}); a full-jitter policy draws delays"
                f" this short with probability {p:.1e}. {RFC_RETRY}: the sender MUST delay"
                " retrying; sleep uniform(0, envelope) before reconnecting."
            ), evidence)
    hammered = [r for r in timed if r.lower_s < HAMMER_S]
    if policy is None and len(timed) >= HAMMER_MIN_RETRIES and len(hammered) >= len(timed) - (
            1 if len(timed) >= HAMMER_SPARE_FROM else 0):
        waited = ms(max(r.lower_s for r in hammered))
        return Result(name, level, "failed", (
            f"The client retried {len(hammered)} of {len(timed)} times without waiting (at"
            f" most {waited} after each failure); {RFC_RETRY}: the sender MUST delay"
            " retrying. Sleep between attempts, growing the delay."
        ), {**evidence, "without_waiting": [r.attempt for r in hammered]})
    if policy is None and all(r.lower_s < HAMMER_S for r in found):
        waited = ms(max(r.lower_s for r in found))
        return Result(name, level, "inconclusive", (
            f"The {len(found)} retries came at most {waited} after each failure: too few"
            " ended by the server to tell a jitter draw from no wait at all; declare the"
            " policy to judge it."), evidence)
    noise = HAMMER_S + calibration.noise_s() if calibration is not None else HAMMER_S
    typical = median([r.lower_s for r in found])
    if policy is None and len(found) >= HAMMER_MIN_RETRIES and typical < noise:
        return Result(name, level, "inconclusive", (
            f"Most of the {len(found)} retries came within this machine's timer noise"
            f" ({ms(noise)}) of their failures (median {ms(typical)}): no wait at all and a"
            " short one look alike here; on a quiet machine, or with a declared policy,"
            " they do not."), evidence)
    return Result(name, level, "passed", (
        f"The client waited before each of its {len(found)} retries"
        f" (shortest {ms(min(r.lower_s for r in found))})."
    ), evidence)


def _ended_by_close(failed_by: str) -> bool:
    """True when the previous attempt's failure is only known from its close. A fault or
    a reply is stamped before the client can see it, so the spacing from it is a lower
    bound of the client's sleep; a close is stamped when the event loop notices it,
    which on a loaded machine can be after the client's sleep began."""
    return failed_by.startswith("close (")


def _supports(
    found: Sequence[Retry], policy: BackoffPolicy | None
) -> list[tuple[Retry, tuple[float, float]]]:
    """Each retry with its declared ``(low, high)``; no policy means ``(0, inf)``."""
    paired = []
    previous: float | None = None
    for r in found:
        paired.append((r, support_s(policy, r.n, previous) if policy else (0.0, math.inf)))
        previous = r.failure_to_start_s
    return paired


def _early(bound: float) -> float:
    # the lower-bound tolerance does not depend on load, only on timer granularity
    return Calibration.assumed().early_s(bound)


# -- upper bounds: C5 envelope and C4 cap --------------------------------------------------


def reaction_s(found: Sequence[Retry], policy: BackoffPolicy) -> float:
    """The client's own per-attempt overhead, as far as the policy cannot explain it:
    the smallest excess of a delay over the policy's lower bound. Building a TLS context
    or a new client object before each connection takes tens of milliseconds, more under
    load; a constant offset like that is no deviation from the policy, so upper bounds
    allow it (a client that waits a constant amount too long is not caught: the black
    box cannot tell the two apart)."""
    return max(0.0, min((r.failure_to_start_s - low for r, (low, _) in _supports(found, policy)),
                        default=0.0))


def envelope(
    found: Sequence[Retry], policy: BackoffPolicy, calibration: Calibration, reaction: float
) -> Result:
    name = "backoff.envelope"
    level: Level = "deviation"
    if not found:
        return Result(name, level, "skipped", "The client made no retry; nothing to judge.")
    rows: list[dict[str, Any]] = []
    for r, (_, high) in _supports(found, policy):
        status = calibration.upper_status(r.failure_to_start_s, high, reaction)
        rows.append({"attempt": r.attempt, "n": r.n, "waited_s": round(r.failure_to_start_s, 6),
                     "max_s": round(high, 6), "slack_s": round(calibration.slack_s(high), 6),
                     "status": status})
    evidence = {"retries": rows, "policy": _policy_dict(policy), "reaction_s": round(reaction, 6)}
    late = [row for row in rows if row["status"] == "failed"]
    if len(late) >= CORROBORATION:
        row = late[0]
        return Result(name, level, "failed", (
            f"Attempt {row['attempt']} came {ms(row['waited_s'])} after the failure, beyond"
            f" the declared envelope of {ms(row['max_s'])} plus {ms(row['slack_s'])} of"
            f" measured timer slack and {ms(reaction)} of its own reaction time, and"
            f" {len(late) - 1} more retries did too; the client waits longer than its own"
            f" policy says ({RFC_RETRY} makes the policy configurable: fix the policy or"
            " its declaration)."
        ), evidence)
    if late:
        row = late[0]
        return Result(name, level, "inconclusive", (
            f"Only attempt {row['attempt']} came too late ({ms(row['waited_s'])} against"
            f" {ms(row['max_s'])}): one long delay is a stall of the machine as often as"
            " the client's doing."
        ), evidence)
    if any(row["status"] == "inconclusive" for row in rows):
        return Result(name, level, "inconclusive", (
            "Some delays lie within the timer-noise band above the declared envelope:"
            " undecidable on this machine; raise the delays or calibrate on a quieter one."
        ), evidence)
    return Result(name, level, "passed",
                  f"All {len(rows)} delays fit the declared {policy.jitter}-jitter envelope.",
                  evidence)


def cap(
    found: Sequence[Retry], cap_s: float, calibration: Calibration, reaction: float
) -> Result:
    name = "backoff.cap"
    level: Level = "deviation"
    if not found:
        return Result(name, level, "skipped", "The client made no retry; nothing to judge.")
    # the second-longest delay decides: one alone over the cap may be a stall
    ordered = sorted(found, key=lambda r: r.failure_to_start_s, reverse=True)
    longest = ordered[0]
    status = calibration.upper_status(longest.failure_to_start_s, cap_s, reaction)
    if status == "failed" and (len(ordered) < CORROBORATION or calibration.upper_status(
        ordered[CORROBORATION - 1].failure_to_start_s, cap_s, reaction
    ) != "failed"):
        status = "inconclusive"
    evidence = {"attempt": longest.attempt, "longest_s": round(longest.failure_to_start_s, 6),
                "cap_s": cap_s, "slack_s": round(calibration.slack_s(cap_s), 6),
                "reaction_s": round(reaction, 6)}
    detail = {
        "passed": f"The longest delay, {ms(longest.failure_to_start_s)}, respects the cap.",
        "inconclusive": (
            f"The longest delay, {ms(longest.failure_to_start_s)}, lies within the timer-noise"
            f" band above the cap of {ms(cap_s)}, or alone beyond it (a stall as often as"
            " not): undecidable on this machine."),
        "failed": (
            f"Attempt {longest.attempt} waited {ms(longest.failure_to_start_s)}, beyond the"
            f" declared cap of {ms(cap_s)} plus slack, and so did another retry; clamp the"
            " delay with min(cap, delay) before adding jitter."),
    }[status]
    return Result(name, level, status, detail, evidence)


# -- C3: growth -------------------------------------------------------------------------


def growth(
    found: Sequence[Retry], policy: BackoffPolicy | None, calibration: Calibration,
    reaction: float = 0.0,
) -> Result:
    name = "backoff.growth"
    level: Level = "deviation"
    if policy is not None:
        cap_s = policy.cap_s
        pre = [r for r in found if cap_s is None or policy.initial_s * policy.factor ** (r.n - 1)
               < cap_s]
    else:
        plateau = plateau_start([float(r.n) for r in found],
                                 [max(r.failure_to_start_s, 1e-6) for r in found])
        pre = list(found if plateau is None else found[:plateau])
    if len(pre) < 2:
        return Result(name, level, "skipped", (
            f"Growth needs two retries before the cap; the client made {len(pre)}."))
    xs = [float(r.n) for r in pre]
    ds = [max(r.failure_to_start_s, 1e-6) for r in pre]
    slope = theil_sen(xs, [math.log(d) for d in ds])[0]
    margin = calibration.noise_s() + reaction if policy is not None else growth_margin_s(
        calibration)
    lo, hi = _slope_interval(xs, ds, margin)
    factor, factor_lo, factor_hi = math.exp(slope), _exp(lo), _exp(hi)
    evidence: dict[str, Any] = {
        "attempts": [r.attempt for r in pre], "delays_s": [round(d, 6) for d in ds],
        "factor": round(factor, 4), "factor_range": [_finite(factor_lo), _finite(factor_hi)],
        "kendall_tau": round(kendall_tau(xs, ds), 4), "p_increasing": kendall_p_increasing(ds),
        "reaction_s": round(reaction, 6), "noise_margin_s": round(margin, 6),
    }
    seen = f"the delays grow by {factor:.2f} per retry ({len(pre)} retries)"
    if policy is not None and policy.jitter != "none":
        evidence["expected_factor"] = policy.factor
        if factor > 1.0:
            return Result(name, level, "passed", f"Growth: {seen}.", evidence)
        return Result(name, level, "inconclusive", (
            f"{seen.capitalize()}: one run of a {policy.jitter}-jitter client can look flat;"
            " the envelope check still bounds every delay."), evidence)
    if policy is not None:
        low, high = policy.factor * (1 - FACTOR_TOLERANCE), policy.factor * (1 + FACTOR_TOLERANCE)
        evidence["expected_factor"] = [round(low, 4), round(high, 4)]
        if _robustly_outside(xs, ds, calibration.noise_s() + reaction, low, high):
            return Result(name, level, "failed", (
                f"{seen.capitalize()}, even allowing for timer noise ({factor_lo:.2f}-"
                f"{factor_hi:.2f}), against the declared factor {policy.factor:g}; multiply"
                f" the delay by the factor after each failure ({RFC_RETRY})."), evidence)
        if low <= factor <= high:
            return Result(name, level, "passed", f"Growth: {seen}.", evidence)
        return Result(name, level, "inconclusive", (
            f"{seen.capitalize()}, off the declared {policy.factor:g}, but timer noise allows"
            f" {factor_lo:.2f}-{factor_hi:.2f}: undecidable; lengthen the delays."), evidence)
    evidence["expected_factor"] = f">= {INCREASING_FACTOR}"
    if max(ds) < GROWTH_NOISE_RATIO * margin:
        return Result(name, level, "inconclusive", (
            f"{seen.capitalize()}, but every delay is under {ms(GROWTH_NOISE_RATIO * margin)},"
            " within this machine's timer noise of no wait at all: their shape is noise."),
            evidence)
    if (factor >= INCREASING_FACTOR and factor_lo >= INCREASING_FACTOR
            and len(pre) >= GROWING_RETRIES):
        return Result(name, level, "passed", f"The client backs off: {seen}.", evidence)
    if factor >= INCREASING_FACTOR and len(pre) < GROWING_RETRIES:  # a rise, then a plateau
        return Result(name, level, "inconclusive", (
            f"{seen.capitalize()}, then stay flat: one stretched retry before constant"
            f" ones looks the same; growth passes on {GROWING_RETRIES} growing retries."),
            evidence)
    if factor >= INCREASING_FACTOR:  # noise alone could have stretched flat delays so far
        return Result(name, level, "inconclusive", (
            f"{seen.capitalize()}, but timer noise alone allows as little as"
            f" {factor_lo:.2f}: undecidable on this machine; lengthen the delays."), evidence)
    if (len(pre) >= 3 and _cv(ds) <= DETERMINISTIC_CV and min(ds) >= GROWTH_NOISE_RATIO * margin
            and _robustly_outside(xs, ds, margin, INCREASING_FACTOR, math.inf)):
        return Result(name, level, "failed", (
            f"The client does not back off: {seen} (at most {factor_hi:.2f} allowing for timer"
            f" noise); {RFC_RETRY} and every retry guide ask for growing delays, e.g. double"
            " the delay after each failure, with jitter."), evidence)
    return Result(name, level, "inconclusive", (
        f"{seen.capitalize()}: timer noise or jitter leaves open whether the client backs"
        " off; lengthen the delays or declare the policy."), evidence)


def growth_margin_s(calibration: Calibration) -> float:
    """How much noise may have lengthened each delay, for ``backoff: increasing``: the
    measured p99.9 timer overshoot (about the largest of the calibration's 300 samples),
    at least :data:`GROWTH_NOISE_FLOOR_S`. Growth is judged on the whole series, not on
    one delay: to make growing delays look flat, noise would have to shrink retry after
    retry by more than the growth, and :func:`_robustly_outside` still leaves each retry
    out in turn, so one stall never decides. A failure also needs delays of at least
    :data:`GROWTH_NOISE_RATIO` margins. Unmeasured, it is 20 ms."""
    return max(calibration.q_s, GROWTH_NOISE_FLOOR_S)


def _slope_interval(
    xs: Sequence[float], ds: Sequence[float], margin_s: float
) -> tuple[float, float]:
    """Bounds on the Theil-Sen slope of the *sleeps* behind ``ds``: each sleep lies in
    ``[d - margin, d]`` (noise, and the client's reaction time when a policy tells it);
    the median is monotone, so the medians of the pairwise extremes bound it. Pairs at
    the same retry number (two series of one run) have no slope, as in ``theil_sen``."""
    lows: list[float] = []
    highs: list[float] = []
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            gap = xs[j] - xs[i]
            if not gap:  # retries with one number (of different messages): no slope
                continue
            floor_i, floor_j = ds[i] - margin_s, ds[j] - margin_s
            lows.append(math.log(floor_j / ds[i]) / gap if floor_j > 0 else -math.inf)
            highs.append(math.log(ds[j] / floor_i) / gap if floor_i > 0 else math.inf)
    return (median(lows), median(highs)) if lows else (-math.inf, math.inf)


def _robustly_outside(
    xs: Sequence[float], ds: Sequence[float], margin_s: float, low: float, high: float
) -> bool:
    """True when the growth factor lies outside ``[low, high]`` whatever the noise, and
    still does with any one retry left out: one stalled retry bends a line through three
    or four points, so it alone must never fail growth. Needs three retries."""
    if len(xs) < 3:
        return False
    for skip in range(len(xs)):
        kept_x = [x for i, x in enumerate(xs) if i != skip]
        kept_d = [d for i, d in enumerate(ds) if i != skip]
        lo, hi = _slope_interval(kept_x, kept_d, margin_s)
        if not (_exp(hi) < low or _exp(lo) > high):
            return False
    return True


def _finite(x: float) -> float | None:
    """A number for the JSON report: infinity (no bound at all) becomes null."""
    return round(x, 4) if math.isfinite(x) else None


def _exp(x: float) -> float:
    if x == math.inf:
        return math.inf
    return 0.0 if x == -math.inf else math.exp(x)


def _cv(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return math.sqrt(var) / mean if mean > 0 else math.inf


def _policy_dict(policy: BackoffPolicy) -> dict[str, Any]:
    return {"initial_s": policy.initial_s, "factor": policy.factor, "cap_s": policy.cap_s,
            "jitter": policy.jitter}
