"""JUnit XML: one test case per scenario, as CI viewers (GitHub, GitLab, Jenkins) show it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness.report.console import failure_report
from harness.run import RunResult

_MAX_OUTPUT = 64 * 1024


def junit_tree(results: Sequence[RunResult]) -> ET.ElementTree:
    failures = sum(not r.passed for r in results)
    total_time = sum(r.duration_s for r in results)
    suites = ET.Element("testsuites", tests=str(len(results)), failures=str(failures),
                        errors="0", time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name="smtp-fault-harness",
                          tests=str(len(results)), failures=str(failures), errors="0",
                          skipped="0", time=f"{total_time:.3f}")
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="smtp-fault-harness.scenarios",
                             name=result.scenario.name, time=f"{result.duration_s:.3f}")
        if not result.passed:
            first = result.verdict.failures[0]
            failure = ET.SubElement(case, "failure", type=first.name,
                                    message=f"{first.level} {first.name}: {first.detail}")
            failure.text = failure_report(result)
        out = ET.SubElement(case, "system-out")
        out.text = (f"seed {result.seed}\n{result.verdict}\n\n"
                    f"{result.timeline.transcript()}")[:_MAX_OUTPUT]
        if result.client.stderr or result.client.stdout:
            err = ET.SubElement(case, "system-err")
            err.text = (result.client.stdout + result.client.stderr)[-_MAX_OUTPUT:]
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(path: str | Path, results: Sequence[RunResult]) -> None:
    junit_tree(results).write(path, encoding="utf-8", xml_declaration=True)
