"""The resilience scorecard: a grade per category of the catalogue, and overall, from one
run's JSON report.

Every scenario in the report gets a mark. Only ``passed`` earns credit: a scenario that was
not exercised (its situation never arose), was interrupted, or passed with an inconclusive
check (timing noise left a verdict open) is shown as such and counts as no credit, as does
a built-in scenario the report does not contain. A category's grade comes from the share
of its scenarios that earned credit (a category none of whose scenarios was exercised has
no grade); the overall grade is the lowest category grade, since
a client that never retries or trusts any certificate is not saved by its other marks.

Reports without an ``outcome`` per scenario (from before it existed) are read by their
``passed`` flag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from harness.errors import HarnessError

Mark = Literal["passed", "failed", "inconclusive", "not-exercised", "interrupted", "not-run"]
Grade = Literal["A", "B", "C", "D", "F"]

GRADES: tuple[tuple[float, Grade], ...] = ((1.0, "A"), (0.9, "B"), (0.75, "C"), (0.5, "D"))
"""The least share of credited scenarios for each grade; below the last, F."""


class ReportError(HarnessError):
    """A file is not a harness JSON report (or cannot be read); the message says why."""


@dataclass(frozen=True)
class Category:
    """A group of the catalogue's scenarios that test one behaviour."""

    key: str
    title: str
    question: str


CATEGORIES: tuple[Category, ...] = (
    Category("controls", "Controls", "Does it deliver when nothing goes wrong?"),
    Category("transient", "Retry on transient failures",
             "Does it retry 4yz replies, dropped and reset connections? (RFC 5321 §4.5.4.1)"),
    Category("backoff", "Backoff", "Do its retries slow down, with jitter? (RFC 5321 §4.5.4.1)"),
    Category("timeouts", "Timeouts",
             "Does it time out on a silent server, and not on a slow one? (RFC 5321 §4.5.3.2)"),
    Category("permanent", "Permanent failures",
             "Does it stop on a 5yz, without retrying? (RFC 5321 §4.2.1)"),
    Category("certificates", "Certificate verification",
             "Does it refuse a certificate that does not verify? (RFC 8314 §5.3)"),
    Category("starttls", "STARTTLS safety",
             "Does it refuse to fall back to cleartext or to trust injected data? (RFC 3207)"),
    Category("duplicates", "Duplicates",
             "Does it keep one Message-ID and never resend after a 250? (RFC 5321 §4.2.5, §6.1)"),
    Category("idle", "Idle reconnect",
             "Does it reconnect when an idle connection was closed? (RFC 5321 §4.5.3.2.7)"),
    Category("other", "Other", "Scenarios outside these groups."),
)

_RULES: tuple[tuple[str, str], ...] = (
    ("no-fault", "controls"), ("latency-link", "controls"), ("bandwidth-link", "controls"),
    ("cert-*", "certificates"), ("starttls-*", "starttls"), ("*starttls*", "starttls"),
    ("store-then-drop", "duplicates"), ("close-after-250", "duplicates"),
    ("*duplicate*", "duplicates"),
    ("*idle*", "idle"),
    ("banner-421-throttle", "backoff"), ("connection-limit", "backoff"),
    ("rate-limit", "backoff"), ("*herd*", "backoff"), ("*jitter*", "backoff"),
    ("outage-*", "backoff"), ("backoff-*", "backoff"),
    ("never-answers", "timeouts"), ("*blackhole*", "timeouts"), ("slow-*", "timeouts"),
    ("tarpit", "timeouts"), ("*silent*", "timeouts"), ("stop-reading-*", "timeouts"),
    ("implicit-plaintext-*", "starttls"), ("auth-required", "transient"),
    ("greylist", "transient"), ("reset-*", "transient"), ("close-mid-*", "transient"),
    ("limit-data-*", "transient"), ("proxy-down-*", "transient"),
)
"""Scenario name patterns, first match wins; then a reply code in the name decides."""

_REPLY_CODE = re.compile(r"(?:^|-)([45])\d\d(?:-|$)")


def category_of(scenario: str) -> Category:
    """The category a scenario belongs to, by its name: the patterns above, then a reply
    code in the name (``mail-450``: transient, ``dot-554``: permanent), else Other."""
    key = next((key for pattern, key in _RULES if fnmatchcase(scenario, pattern)), None)
    if key is None:
        code = _REPLY_CODE.search(scenario)
        key = {"4": "transient", "5": "permanent"}[code.group(1)] if code else "other"
    return next(c for c in CATEGORIES if c.key == key)


@dataclass(frozen=True)
class ScenarioMark:
    """One scenario's mark, and why when it earned no credit."""

    scenario: str
    mark: Mark
    why: str = ""

    @property
    def credited(self) -> bool:
        return self.mark == "passed"


def mark_of(result: Mapping[str, Any]) -> ScenarioMark:
    """The mark of one scenario of a JSON report."""
    name = str(result["scenario"])
    outcome = result.get("outcome") or ("passed" if result.get("passed") else "failed")
    expectations: Sequence[Mapping[str, Any]] = result.get("expectations") or []
    if outcome == "not-exercised" or outcome == "interrupted":
        why = "; ".join(result.get("why_not_exercised") or [])
        return ScenarioMark(name, "not-exercised" if outcome == "not-exercised"
                            else "interrupted", why)
    if outcome == "failed":
        failed = [e["name"] for e in expectations
                  if e.get("status") == "failed" and e.get("level") != "advisory"]
        return ScenarioMark(name, "failed", ", ".join(failed) or "failed")
    undecided = [e["name"] for e in expectations
                 if e.get("status") == "inconclusive" and e.get("level") != "advisory"]
    if undecided:
        return ScenarioMark(name, "inconclusive", ", ".join(undecided))
    return ScenarioMark(name, "passed")


def grade_of(share: float) -> Grade:
    """The grade of a share (0 to 1) of credited scenarios."""
    return next((grade for least, grade in GRADES if share >= least), "F")


@dataclass(frozen=True)
class CategoryScore:
    """One category's marks and grade (None when the run had none of its scenarios)."""

    category: Category
    marks: tuple[ScenarioMark, ...]

    @property
    def credited(self) -> int:
        return sum(m.credited for m in self.marks)

    @property
    def total(self) -> int:
        return len(self.marks)

    @property
    def grade(self) -> Grade | None:
        """None without scenarios, or when none of them was exercised: a category whose
        situations never arose (a client that never keeps a connection open meets no idle
        timeout) says nothing either way, so it neither earns nor costs a grade."""
        if all(m.mark == "not-exercised" for m in self.marks):
            return None
        return grade_of(self.credited / self.total)

    @property
    def uncredited(self) -> tuple[ScenarioMark, ...]:
        return tuple(m for m in self.marks if not m.credited)


_ORDER = "ABCDF"


@dataclass(frozen=True)
class Scorecard:
    """The grades of one run, per category and overall."""

    categories: tuple[CategoryScore, ...]
    harness_version: str = ""

    @property
    def graded(self) -> tuple[CategoryScore, ...]:
        return tuple(c for c in self.categories if c.marks)

    @property
    def credited(self) -> int:
        return sum(c.credited for c in self.categories)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.categories)

    @property
    def grade(self) -> Grade | None:
        """The lowest category grade: None when nothing was graded."""
        grades = [grade for grade in (c.grade for c in self.graded) if grade is not None]
        if not grades:
            return None
        lowest: Grade = max(grades, key=_ORDER.index)
        return lowest

    def count(self, mark: Mark) -> int:
        return sum(m.mark == mark for c in self.categories for m in c.marks)


def scorecard(report: Mapping[str, Any], catalogue: Sequence[str] = ()) -> Scorecard:
    """The scorecard of a JSON report (as ``harness run --json`` writes it).

    ``catalogue`` names the scenarios the run was meant to cover (the built-in catalogue):
    those missing from the report are marked ``not-run``, without credit.
    """
    results = _scenarios(report)
    marks = [mark_of(r) for r in results]
    seen = {m.scenario for m in marks}
    marks += [ScenarioMark(name, "not-run", "not in the report")
              for name in catalogue if name not in seen]
    by_category: dict[str, list[ScenarioMark]] = {c.key: [] for c in CATEGORIES}
    for mark in sorted(marks, key=lambda m: m.scenario):
        by_category[category_of(mark.scenario).key].append(mark)
    return Scorecard(
        tuple(CategoryScore(c, tuple(by_category[c.key])) for c in CATEGORIES),
        str(report.get("harness_version", "")),
    )


def _scenarios(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    scenarios = report.get("scenarios") if isinstance(report, Mapping) else None
    if not isinstance(scenarios, list) or not all(
        isinstance(s, Mapping) and isinstance(s.get("scenario"), str) for s in scenarios
    ):
        raise ReportError("expected a harness JSON report (harness run --json FILE writes"
                          " one): an object whose \"scenarios\" is a list of named results")
    return scenarios


def load_report(path: str | Path) -> dict[str, Any]:
    """A JSON report from a file, checked to be one."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ReportError(f"cannot read {path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"{path} is not a JSON report: {error}") from None
    if not isinstance(report, dict):
        raise ReportError(f"{path} is not a JSON report: expected an object")
    _scenarios(report)
    return report
