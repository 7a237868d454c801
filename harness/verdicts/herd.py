"""C6, herd dispersion: clients that failed at the same instant must not retry together.

A fleet of K clients all refused at one instant (an outage ending for everyone at once)
retries. Without jitter every one of them sleeps the same delay ``E`` and the fleet
comes back as one wave; with jitter the retries spread over the delay (gRPC's
connection-backoff: backoffs "started at the same time disperse"; Brooker 2015).

What the check measures, from the timeline alone (no client identities are needed):

- the *herd*: the last group of attempts whose failures the server caused within one
  short window (the calibrated timer noise) of each other, among those holding nearly
  the whole fleet (90 % of the largest group);
- its *retries*: the first ``|herd|`` attempts accepted after the herd's last failure,
  one per client when the outage has ended;
- ``x_k``: each retry's accept time minus the herd's first failure.

No jitter puts every ``x_k`` at or beyond ``E``: a client cannot reconnect before it
read the failure and slept, and noise only ever lengthens the wait, so with no jitter
**none** of the retries comes earlier than ``E`` (less timer granularity), on any machine
under any load. The statistic is the number of retries that came earlier than that
no-jitter floor. The check fails when none did, and judges only herds of at least
``MIN_HERD`` retries: each retry of a full-jitter client comes early with probability
``P(U·E + r < E)``, at least one half while its reaction time ``r`` stays under ``E/2``,
so a false fail needs all ``MIN_HERD`` draws to miss: at most ``2^-10 < 1/1000``; with
20 clients and the reference's loaded-CI noise the simulated rate is far smaller
(``python -m benchmarks.bench_herd``). What noise can do is one *shared* stall as long
as ``E`` (the server's loop or the machine pausing while the herd returns), so a delay
under 20 times the calibrated timer noise (the reference's rule) is never failed, only
inconclusive: judge the herd at a retry whose delay towers over the noise.

Early retries prove jitter only in a fleet that was in step: a client a wave behind (it
missed the first one) waits its previous, shorter delay in the herd. So with ``clients``
known, every group of failures before the herd must hold them all, or the result is
inconclusive.

With a declared delay (``herd-disperses: {delay_s: E}``: what every client sleeps
before the retry that follows the synchronised failure, were there no jitter) the check is a
deviation: the client breaks its own declared jitter. Without one (``true``) ``E`` is
unknown; the retries' spread is compared with the timer noise instead and a failure is
advisory only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from harness.timeline import Timeline
from harness.verdicts.calibration import Calibration
from harness.verdicts.delays import failure_ns
from harness.verdicts.result import Result, ms
from harness.verdicts.spec import Level
from harness.verdicts.stats import median, quantile

NAME = "herd-disperses"
SOURCES = "gRPC connection-backoff: backoffs must disperse; Brooker 2015"
#: Herds smaller than this are not judged when none of their retries came early: fewer
#: draws would leave the false-fail rate of a full-jitter client above 1 in 1,000.
MIN_HERD = 10
#: A wave holding at least this share of the largest one counts as the whole herd.
WHOLE = 0.9
#: Two retries closer than this fraction of the declared delay count as a collision.
COLLISION_FRACTION = 0.05


@dataclass(frozen=True)
class FailedTogether:
    """Attempts that failed together and the retries that followed them."""

    failed: tuple[int, ...]
    first_failure_ns: int
    last_failure_ns: int
    retries: tuple[tuple[int, float], ...]  # (attempt, seconds after the first failure)
    refused_after: int = 0
    """Attempts refused together (in groups of two or more) after the herd: a later wave
    split wider than the window, so the herd is not the fleet's last refusal."""
    waves_before: tuple[int, ...] = ()
    """The sizes of the groups of failures before the herd, in order."""

    @property
    def delays_s(self) -> list[float]:
        return [x for _, x in self.retries]


def find_herd(timeline: Timeline, window_s: float) -> FailedTogether | None:
    """The last group of failures within ``window_s`` of each other that holds nearly
    the whole herd (at least ``WHOLE`` of the largest such group, and two), with the
    attempts accepted after its last failure, as many as the group. An outage that
    refuses a fleet again and again judges its last wave: by then every client's delay
    has grown to its cap, the same for all, even for a client that started a wave late."""
    failures = sorted(
        (f[0], a.index) for a in timeline.attempts if (f := failure_ns(a)) is not None
    )
    window_ns = round(window_s * 1e9)
    groups: list[tuple[int, int]] = []  # (start, end) into failures, disjoint, in order
    start = 0
    while start < len(failures):
        end = start
        while end + 1 < len(failures) and failures[end + 1][0] - failures[start][0] <= window_ns:
            end += 1
        groups.append((start, end))
        start = end + 1
    largest = max((end - start + 1 for start, end in groups), default=0)
    if largest < 2:
        return None
    whole = [g for g in groups if g[1] - g[0] + 1 >= max(2, WHOLE * largest)]
    first_index, last_index = whole[-1]
    group = failures[first_index: last_index + 1]
    members = {index for _, index in group}
    first, last = group[0][0], group[-1][0]
    after = sorted((a.start_ns, a.index) for a in timeline.attempts
                   if a.start_ns > last and a.index not in members)[: len(group)]
    split = sum(end - start + 1 for start, end in groups
                if start > last_index and end > start)
    return FailedTogether(
        failed=tuple(sorted(members)), first_failure_ns=first, last_failure_ns=last,
        retries=tuple((index, (start_ns - first) / 1e9) for start_ns, index in after),
        refused_after=split,
        waves_before=tuple(end - start + 1 for start, end in groups if end < first_index),
    )


def early_floor_s(delay_s: float, calibration: Calibration) -> float:
    """The earliest a no-jitter client may retry: its delay, less timer granularity
    (some runtimes fire a clock tick early)."""
    return delay_s - calibration.early_s(delay_s)


def count_early(xs: Sequence[float], delay_s: float, calibration: Calibration) -> int:
    """The statistic: how many retries came before the no-jitter floor. Zero fails a
    herd of ``MIN_HERD`` or more."""
    floor = early_floor_s(delay_s, calibration)
    return sum(1 for x in xs if x < floor)


def herd_disperses(
    timeline: Timeline,
    delay_s: float | None,
    calibration: Calibration,
    clients: int | None = None,
) -> Result:
    """C6 over ``timeline``: see the module's docstring. ``clients`` is how many client
    instances the run started (a herd smaller than that was not synchronised whole)."""
    level: Level = "deviation" if delay_s is not None else "advisory"
    herd = find_herd(timeline, calibration.noise_s())
    if herd is None:
        return Result(NAME, level, "skipped", (
            "No two attempts failed at the same instant: there was no herd to disperse."))
    xs = herd.delays_s
    evidence: dict[str, Any] = {
        "failed_together": list(herd.failed),
        "failure_window_s": round((herd.last_failure_ns - herd.first_failure_ns) / 1e9, 6),
        "retries": [{"attempt": a, "after_s": round(x, 6)} for a, x in herd.retries],
        **spread(xs, delay_s),
    }
    together = f"{len(herd.failed)} attempts failed together"
    if not xs:
        return Result(NAME, level, "skipped",
                      f"{together.capitalize()}, and none was retried: nothing to disperse.",
                      evidence)
    if clients is not None and len(herd.failed) < clients:
        evidence["clients"] = clients
        return Result(NAME, level, "inconclusive", (
            f"Only {len(herd.failed)} of the {clients} clients failed at the same instant:"
            " the herd was not synchronised whole (a client started late?); give the"
            " outage longer to gather every client."), evidence)
    if clients is not None and any(size != clients for size in herd.waves_before):
        evidence.update(clients=clients, waves_before=list(herd.waves_before))
        return Result(NAME, level, "inconclusive", (
            f"{together.capitalize()}, but the failures before them came in groups of"
            f" {_sizes(herd.waves_before)}, not of the {clients} clients each time: a client"
            " that fell a wave behind (one started late on a loaded machine) retries the herd"
            " after an earlier, shorter delay, which would pass for jitter."), evidence)
    if herd.refused_after:
        evidence["refused_after"] = herd.refused_after
        return Result(NAME, level, "inconclusive", (
            f"{together.capitalize()}, but {herd.refused_after} attempts were refused"
            " after them in smaller groups: the fleet's last refusal came spread wider than"
            f" the timer noise ({ms(calibration.noise_s())}), so the clients did not fail"
            " at one instant (a loaded machine delaying the server's replies?) and their"
            " retries cannot be compared with one delay."), evidence)
    if delay_s is None:
        return _undeclared(xs, together, calibration, evidence)
    floor = early_floor_s(delay_s, calibration)
    early = count_early(xs, delay_s, calibration)
    evidence.update(delay_s=delay_s, no_jitter_floor_s=round(floor, 6), early=early)
    if early:
        return Result(NAME, level, "passed", (
            f"{together.capitalize()}; {early} of their {len(xs)} retries came before"
            f" {ms(delay_s)}, where no jitter would put none: the retries disperse"
            f" over {ms(max(xs) - min(xs))}."), evidence)
    if calibration.noise_dominates(delay_s):
        return Result(NAME, level, "inconclusive", (
            f"{together.capitalize()} and none of their {len(xs)} retries came before"
            f" {ms(delay_s)}, but that delay is under 20 times this machine's timer noise"
            f" ({ms(calibration.q_s)}): one stall as the herd returned would do the same."
            " Judge the herd at a retry with a longer delay."), evidence)
    if len(xs) < MIN_HERD:
        return Result(NAME, level, "inconclusive", (
            f"{together.capitalize()} and none of their {len(xs)} retries came before"
            f" {ms(delay_s)}; with fewer than {MIN_HERD} retries a jittered fleet does"
            " that too often to tell: start more clients."), evidence)
    return Result(NAME, level, "failed", (
        f"{together.capitalize()} and all {len(xs)} retries came {ms(min(xs))} or more"
        f" after the failure, none before the declared delay of {ms(delay_s)}:"
        " exactly what retries without jitter do, the whole fleet returning as one wave"
        f" ({evidence['collisions']} of {evidence['pairs']} pairs within"
        f" {ms(COLLISION_FRACTION * delay_s)} of each other). Draw each delay at random,"
        f" e.g. uniform(0, delay) (full jitter; {SOURCES})."), evidence)


def _sizes(sizes: Sequence[int]) -> str:
    shown = ", ".join(str(size) for size in sizes[:8])
    return shown + (", ..." if len(sizes) > 8 else "")


def _undeclared(
    xs: Sequence[float], together: str, calibration: Calibration, evidence: dict[str, Any]
) -> Result:
    """No declared delay: retries spread wider than twice the timer noise disperse; a
    tighter wave is advisory, and only when the delays tower over the noise (20x)."""
    level: Level = "advisory"
    width = max(xs) - min(xs)
    noise = calibration.noise_s()
    if width > 2 * noise:
        return Result(NAME, level, "passed", (
            f"{together.capitalize()}; their {len(xs)} retries spread over {ms(width)},"
            f" more than the timer noise ({ms(noise)}) would."), evidence)
    if len(xs) < MIN_HERD or calibration.noise_dominates(median(xs)):
        return Result(NAME, level, "inconclusive", (
            f"{together.capitalize()}; their {len(xs)} retries came within {ms(width)} of"
            " each other, which timer noise or too few clients leave undecided; declare the"
            " delay (herd-disperses: {delay_s: ...}) to judge it."), evidence)
    return Result(NAME, level, "failed", (
        f"{together.capitalize()} and their {len(xs)} retries came back within {ms(width)}"
        f" of each other, about {ms(median(xs))} after the failure: a wave, as without"
        f" jitter. Draw each delay at random ({SOURCES})."), evidence)


def spread(xs: Sequence[float], delay_s: float | None) -> dict[str, Any]:
    """How the retries spread: range, interquartile range, and the pairs that collide
    (closer than 5 % of the declared delay, or of the median delay when none is declared)."""
    if not xs:
        return {"pairs": 0, "collisions": 0}
    scale = delay_s if delay_s is not None else median(xs)
    width = COLLISION_FRACTION * scale
    pairs = list(combinations(xs, 2))
    return {
        "range_s": round(max(xs) - min(xs), 6),
        "iqr_s": round(quantile(xs, 0.75) - quantile(xs, 0.25), 6),
        "pairs": len(pairs),
        "collisions": sum(1 for a, b in pairs if abs(a - b) < width),
    }


def false_fail_bound(herd_size: int, early_probability: float) -> float:
    """The chance that a jittered herd of ``herd_size`` retries has none early, when each
    comes early with at least ``early_probability``: ``(1 - p)^n``."""
    return math.pow(1.0 - early_probability, herd_size)
