"""JUnit XML: one test case per scenario, as CI viewers (GitHub, GitLab, Jenkins) show it.

A failed scenario is a ``<failure>``; a not-exercised one is a ``<failure
type="not-exercised">`` too (the gate does not pass it), unless the run accepts it, when
it is ``<skipped>`` with the reason; an interrupted one is an ``<error>``. Inconclusive
and advisory results are in each case's properties and output.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from pathlib import Path

from harness.outcome import RunResult, accepted
from harness.report.console import failure_report

_MAX_OUTPUT = 64 * 1024


def junit_tree(results: Sequence[RunResult],
               accept_not_exercised: Collection[str] = ()) -> ET.ElementTree:
    kinds = [_kind(r, accept_not_exercised) for r in results]
    failures, errors, skipped = (kinds.count(k) for k in ("failure", "error", "skipped"))
    total_time = sum(r.duration_s for r in results)
    totals = {"tests": str(len(results)), "failures": str(failures), "errors": str(errors),
              "time": f"{total_time:.3f}"}
    suites = ET.Element("testsuites", totals)
    suite = ET.SubElement(suites, "testsuite",
                          {"name": "smtp-fault-harness", **totals, "skipped": str(skipped)})
    for result, kind in zip(results, kinds):
        case = ET.SubElement(suite, "testcase", classname="smtp-fault-harness.scenarios",
                             name=result.scenario.name, time=f"{result.duration_s:.3f}")
        _properties(case, result)
        why = "; ".join(result.why)
        if kind == "skipped":
            ET.SubElement(case, "skipped", message=f"not exercised (accepted): {why}")
        elif kind == "error":
            ET.SubElement(case, "error", type="interrupted", message=why)
        elif kind == "failure" and result.outcome == "not-exercised":
            failure = ET.SubElement(case, "failure", type="not-exercised",
                                    message=f"not exercised: {why}")
            failure.text = failure_report(result)
        elif kind == "failure":
            first = result.verdict.failures[0]
            failure = ET.SubElement(case, "failure", type=first.name,
                                    message=f"{first.level} {first.name}: {first.detail}")
            failure.text = failure_report(result)
        out = ET.SubElement(case, "system-out")
        out.text = (f"outcome {result.outcome}; seed {result.seed}\n{result.verdict}\n\n"
                    f"{result.timeline.transcript()}")[:_MAX_OUTPUT]
        if result.client.stderr or result.client.stdout:
            err = ET.SubElement(case, "system-err")
            err.text = (result.client.stdout + result.client.stderr)[-_MAX_OUTPUT:]
    ET.indent(suites)
    return ET.ElementTree(suites)


def _kind(result: RunResult, accept_not_exercised: Collection[str]) -> str:
    if result.outcome == "interrupted":
        return "error"
    if result.outcome == "not-exercised":
        return "skipped" if accepted(result.name, accept_not_exercised) else "failure"
    return "failure" if result.outcome == "failed" else "passed"


def _properties(case: ET.Element, result: RunResult) -> None:
    props = ET.SubElement(case, "properties")
    facts = {"outcome": result.outcome, "seed": str(result.seed),
             "time_limit_s": "" if result.time_limit_s is None else f"{result.time_limit_s:g}",
             "time_limit_from": result.time_limit_from}
    for r in result.verdict.results:
        if r.status == "inconclusive" or (r.status == "failed" and not r.fails):
            facts[f"{r.status if r.status == 'inconclusive' else 'advisory'}:{r.name}"] = r.detail
    for name, value in facts.items():
        ET.SubElement(props, "property", name=name, value=value)


def write_junit(path: str | Path, results: Sequence[RunResult],
                accept_not_exercised: Collection[str] = ()) -> None:
    junit_tree(results, accept_not_exercised).write(path, encoding="utf-8",
                                                    xml_declaration=True)
