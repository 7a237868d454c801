"""What must be the same between one run and its shards merged."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

WRONG_EXPECTATION = """\
name: expects-no-delivery
about: Expects the opposite of what a correct client does, so that it fails.
expect:
  delivered: never
"""
"""A scenario every correct client fails: a sharded gate must fail where it is."""

SELECTION = ["no-fault", "banner-421-throttle", "mail-550", "reset-mid-data", "greylist",
             "starttls-stripped", "cert-expired-starttls"]
"""Built-in scenarios that a correct client passes, some slow, some with retries or TLS."""


def verdicts(report: dict[str, Any]) -> list[tuple[str, bool, list[tuple[str, str, str]]]]:
    """Per scenario, in order: whether it passed and every expectation's name, level and
    whether it failed (passed, inconclusive and skipped may differ with timing noise)."""
    return [(s["scenario"], s["passed"],
             [(e["name"], e["level"], "failed" if e["status"] == "failed" else "held")
              for e in s["expectations"]])
            for s in report["scenarios"]]


def read(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def junit_cases(path: Path) -> list[tuple[str | None, bool]]:
    """Each JUnit test case's name and whether it failed."""
    return [(case.get("name"), case.find("failure") is not None)
            for case in ET.parse(path).getroot().iter("testcase")]
