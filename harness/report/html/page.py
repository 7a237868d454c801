"""The report's layout: the summary with its index, then one card per scenario (its
picture, delays, expectations, client output, transcripts and how to replay it).

The stylesheet and the small script (expand or collapse all, filter by outcome) are files
of this package, inlined so the report stays one self-contained file: nothing is fetched
when it opens. Every element is made by :func:`~harness.report.html.markup.el`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from harness.outcome import RunResult
from harness.report.html.drawing import (
    ARROWS,
    closed,
    declared_policy,
    delay_chart,
    delay_scale,
    fitted_envelope,
    legend,
    seconds,
    timeline_svg,
    window_text,
    windows,
)
from harness.report.html.markup import Markup, el, fragment
from harness.timeline import UNEVENTFUL
from harness.verdicts import BackoffPolicy, Result
from harness.verdicts.backoff import support_s
from harness.verdicts.delays import retries
from harness.version import __version__

#: Scenarios shown unfolded when a report has at most this many; beyond, only failures.
OPEN_ALL_UP_TO = 8
#: Client output kept per stream (the end of it, where the error usually is).
MAX_OUTPUT = 64 * 1024

FILTERS = (("failed", "failed"), ("not-exercised", "not exercised"),
           ("inconclusive", "inconclusive"), ("passed", "passed"))
"""The outcome filters of the page, in the order shown: (class, words)."""


def html_report(results: Sequence[RunResult], seed: int | None,
                command: Sequence[str] | None = None) -> str:
    """The whole report as one HTML document; failed scenarios come first. ``command``,
    the client command the run was given, goes into each scenario's replay line."""
    ordered = [r for r in results if not r.passed] + [r for r in results if r.passed]
    unfold_all = len(results) <= OPEN_ALL_UP_TO
    failed = sum(not r.passed for r in results)
    title = f"{'FAIL' if failed else 'PASS'}: smtp-fault-harness, {len(results)} scenario(s)"
    script = _asset("report.js")
    head = el("head", el("meta", charset="utf-8"),
              el("meta", http_equiv="Content-Security-Policy", content=_policy(script)),
              el("meta", name="viewport", content="width=device-width, initial-scale=1"),
              el("title", title), el("style", _asset("report.css")))
    main = el("main", _summary(ordered, seed),
              [_scenario(r, unfold_all or not r.passed, command) for r in ordered])
    body = el("body", main, el("script", script))
    return "<!DOCTYPE html>\n" + el("html", head, body, lang="en") + "\n"


def _policy(script: str) -> str:
    """Nothing is fetched, and no script runs but the report's own (by its hash): a line
    of the client's output that got past the escaping still could not run."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:;"
            f" script-src 'sha256-{digest}'")


def _asset(name: str) -> Markup:
    """A file of this package, trusted as it is (it is ours, not the client's)."""
    return Markup(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


def outcome(result: RunResult) -> str:
    """The scenario's outcome: passed, failed, not-exercised or interrupted."""
    found = getattr(result, "outcome", None)
    return str(found) if found else ("passed" if result.passed else "failed")


def _classes(result: RunResult) -> str:
    """The filter classes of a scenario: its outcome, and ``inconclusive`` when one of its
    checks could not decide."""
    inconclusive = any(r.status == "inconclusive" for r in result.verdict.results)
    return outcome(result) + (" inconclusive" if inconclusive else "")


def _anchor(result: RunResult) -> str:
    return "scenario-" + re.sub(r"[^A-Za-z0-9_.-]", "-", result.scenario.name)


_PILLS = {"passed": "PASS", "failed": "FAIL", "not-exercised": "NOT EXERCISED",
          "interrupted": "INTERRUPTED"}


def _pill(result: RunResult) -> Markup:
    word = _PILLS.get(outcome(result), outcome(result).upper())
    return el("span", word, class_=f"pill {outcome(result)}")


def _status(result: Result) -> Markup:
    label = {"failed": "failed" if result.fails else "noted"}.get(result.status, result.status)
    return el("span", label, class_=f"status {result.status} {result.level}")


# -- the summary -------------------------------------------------------------------------


def _summary(results: Sequence[RunResult], seed: int | None) -> Markup:
    failed = sum(not r.passed for r in results)
    passed = len(results) - failed
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for r in results:
        first = r.verdict.failures[0].name if r.verdict.failures else ""
        why = getattr(r, "why", ())
        rows.append(el(
            "tr", el("td", _pill(r)),
            el("td", el("a", r.scenario.name, href=f"#{_anchor(r)}")),
            el("td", len(r.timeline.attempts), class_="num"),
            el("td", len(r.timeline.messages), class_="num"),
            el("td", seconds(r.duration_s), class_="num"),
            el("td", first or (why[0] if why else ""), class_="why"),
            class_=f"row {_classes(r)}",
            data_scenario=_anchor(r),
        ))
    counts = {name: sum(name in _classes(r).split() for r in results) for name, _ in FILTERS}
    meta = [el("div", el("dt", "seed"), el("dd", "random per scenario" if seed is None
                                                  else str(seed))),
            el("div", el("dt", "harness"), el("dd", __version__)),
            el("div", el("dt", "written"), el("dd", generated)), _noise(results)]
    return el(
        "header",
        el("h1", "smtp-fault-harness ", el("span", "run report", class_="sub")),
        el("p", el("span", f"{failed} failed", class_="big fail-count"
                   + (" zero" if not failed else "")),
           el("span", f"{passed} passed", class_="big pass-count"
              + (" zero" if not passed else "")),
           el("span", f"of {len(results)} scenario(s)", class_="of"), class_="counts"),
        el("dl", meta, class_="meta"),
        _toolbar(counts),
        el("table",
           el("thead", el("tr", el("th"), el("th", "scenario"), el("th", "attempts", class_="num"),
                          el("th", "delivered", class_="num"),
                          el("th", "duration", class_="num"),
                          el("th", "first failed expectation, or why not exercised"))),
           el("tbody", rows), class_="index"),
        class_=f"summary {'failed' if failed else 'passed'}",
    )


def _toolbar(counts: Mapping[str, int]) -> Markup:
    """Expand or collapse every scenario; show only some outcomes (all shown at first)."""
    filters = [el("label", el("input", type="checkbox", class_="filter", value=name,
                              checked=True), f" {words} ", el("span", counts[name],
                                                             class_="count"),
                  class_=f"filter-{name}")
               for name, words in FILTERS]
    return el("div",
              el("button", "Expand all", type="button", class_="expand-all"),
              el("button", "Collapse all", type="button", class_="collapse-all"),
              el("span", "Show:", class_="show"), filters,
              class_="toolbar", role="toolbar")


def _noise(results: Sequence[RunResult]) -> Markup | None:
    measured = [r.verdict.calibration for r in results if r.verdict.calibration.measured]
    if not measured:
        return None
    return el("div", el("dt", "timer noise"), el("dd", f"p99.9 {seconds(measured[0].q_s)}"))


# -- one scenario ------------------------------------------------------------------------


def _time_limit(result: RunResult) -> str:
    limit = getattr(result, "time_limit_s", None)
    source = getattr(result, "time_limit_from", "scenario")
    if limit is None:
        limit, source = result.scenario.client.timeout_s, "scenario"
    return f"time limit {seconds(limit)} ({source})"


def _scenario(result: RunResult, unfold: bool, command: Sequence[str] | None) -> Markup:
    s, t, c = result.scenario, result.timeline, result.client
    client = ("timed out" if c.timed_out else
              f"exit {c.exit_code}" if c.exit_code is not None else (c.error or "no exit code"))
    facts = [f"{len(t.attempts)} attempt(s)", f"{len(t.messages)} message(s) stored",
             f"client {client}", seconds(result.duration_s), _time_limit(result),
             f"seed {result.seed}"]
    why = getattr(result, "why", ())
    body = [
        el("p", s.about, class_="about") if s.about else None,
        el("div", el("h3", "Not exercised"), el("ul", [el("li", w) for w in why]),
           class_="callout not-exercised") if why else None,
        el("div", el("h3", "Failed expectations"),
           el("ul", [el("li", el("strong", f.name), " ", el("em", f.level), " ", f.detail)
                     for f in result.verdict.failures]),
           class_="callout") if result.verdict.failures else None,
        _timeline(result), _delays(result), _verdicts(result), _client(result),
        _transcripts(result), _replay(result, command),
    ]
    return el(
        "details",
        el("summary", _pill(result), el("span", s.name, class_="name"),
           el("span", [el("span", fact) for fact in facts], class_="facts")),
        el("div", body, class_="body"),
        class_=f"scenario {_classes(result)}",
        id=_anchor(result), open=unfold,
    )


def _replay(result: RunResult, command: Sequence[str] | None) -> Markup:
    """The command line that replays this scenario with the same faults and jitter."""
    from harness.model.builtin_scenarios import builtin_names

    builtin = result.scenario.name in builtin_names()
    target = result.scenario.name if builtin else f"{result.scenario.name}.yaml"
    line = ["harness", "run", target, "--seed", str(result.seed)]
    if command:
        line += ["--", *command]
    elif result.scenario.client.command is None:
        line += ["--", "CLIENT-COMMAND"]
    parts = [el("pre", shlex.join(line), class_="replay")]
    if not builtin:
        parts.append(el("details", el("summary", f"{target}: the scenario as run"),
                        el("pre", result.scenario.to_yaml())))
    return el("section", el("h3", "Replay"), parts)


def _timeline(result: RunResult) -> Markup:
    attempts = sorted(result.timeline.listed(), key=lambda a: a.index)
    left_out = len(result.timeline.attempts) - len(attempts)
    summary = (el("p", f"Summarised: {left_out} uneventful attempts ({UNEVENTFUL}) are"
                       " counted, not drawn; the verdicts read them all.", class_="empty")
               if left_out else "")
    if not attempts:
        return el("section", el("h3", "Timeline"), summary or
                  el("p", "No connection reached the server: the client never connected.",
                     class_="empty"))
    return el("section", el("h3", "Timeline"), summary,
              el("div", timeline_svg(result, _anchor(result)), class_="figure"),
              legend(attempts, bool(windows(result))))


def _delays(result: RunResult) -> Markup | None:
    found = retries(result.timeline)
    policy = result.scenario.expectations().backoff
    declared = declared_policy(result)
    fitted = result.verdict.fitted
    if not found and policy is None:
        return None
    lines = []
    if declared is not None:
        lines += [el("dt", "declared"), el("dd", _describe_policy(declared))]
    elif policy == "increasing":
        lines += [el("dt", "declared"), el("dd", "backoff: increasing (the delays must grow;"
                                                 " no envelope declared)")]
    if fitted is not None:
        lines += [el("dt", "observed"), el("dd", fitted.describe())]
    head = el("dl", lines, class_="policy")
    if not found:
        return el("section", el("h3", "Delays between attempts"), head,
                  el("p", "The client made no retry after a failure.", class_="empty"))
    rows, previous = [], None
    scale = delay_scale(result, found)
    for r in found:
        window = support_s(declared, r.n, previous) if declared is not None else None
        previous = r.failure_to_start_s
        fit = fitted_envelope(result, r.n)
        rows.append(el(
            "tr", el("td", r.n, class_="num"), el("td", f"#{r.attempt}", class_="num"),
            el("td", r.failed_by, class_="after"),
            el("td", seconds(r.failure_to_start_s), class_="num strong"),
            el("td", seconds(r.start_to_start_s), class_="num"),
            el("td", window_text(window), class_="num"),
            el("td", "" if fit is None else seconds(fit), class_="num"),
            el("td", delay_chart(r, window, fit, scale)),
        ))
    key = [el("i", class_="swatch window"), "declared window "] if declared is not None else []
    columns = [("retry", "num"), ("attempt", "num"), ("after", None), ("waited", "num"),
               ("start to start", "num"), ("declared", "num"), ("fitted", "num"), ("", None)]
    return el(
        "section", el("h3", "Delays between attempts"), head,
        el("table", el("thead", el("tr", [el("th", name, class_=cls) for name, cls in columns])),
           el("tbody", rows), class_="delays"),
        el("p", el("span", key, el("i", class_="dot"), "waited ", el("i", class_="fitmark"),
                   "fitted envelope", class_="key"), el("br"),
           "waited: from the moment the server made the previous attempt fail to the next"
           " connection; start to start: accept to accept.", class_="note"),
    )


def _describe_policy(policy: BackoffPolicy) -> str:
    cap = "no cap" if policy.cap_s is None else f"cap {seconds(policy.cap_s)}"
    return (f"initial {seconds(policy.initial_s)}, factor {policy.factor:g}, {cap},"
            f" jitter {policy.jitter}")


# -- verdict, client, transcripts --------------------------------------------------------


def _verdicts(result: RunResult) -> Markup:
    if not result.verdict.results:
        return el("section", el("h3", "Expectations"),
                  el("p", "The scenario expects nothing.", class_="empty"))
    rows = []
    for r in result.verdict.results:
        # the level is what a failure would weigh: said only where the check did not pass
        level = (el("span", r.level, class_="level") if r.status != "passed"
                 else el("span", f"{r.level} if it fails", class_="level quiet"))
        rows.append(el(
            "tr", el("td", _status(r)), el("td", r.name, level, class_="name"),
            el("td", el("p", r.detail, class_="detail"), _evidence(r.evidence, r.fails)),
            class_="fails" if r.fails else f"s-{r.status}",
        ))
    return el("section", el("h3", "Expectations"), el(
        "table", el("thead", el("tr", el("th", "status"), el("th", "expectation"),
                                el("th", "detail and evidence"))),
        el("tbody", rows), class_="verdicts"))


def _evidence(evidence: Mapping[str, Any], unfold: bool) -> Markup | None:
    """Evidence as a person reads it: short values inline, lists of records as small
    tables (folded unless the expectation failed), anything else as indented JSON."""
    inline, blocks = [], []
    for key, value in evidence.items():
        text = json.dumps(value, default=str, ensure_ascii=False)
        if len(text) <= 100:
            inline.append(el("span", el("b", key), " ", text))
            continue
        inner = (_record_table(value) if _records(value) else
                 el("pre", json.dumps(value, indent=2, default=str, ensure_ascii=False)))
        count = f" ({len(value)})" if isinstance(value, (list, dict)) else ""
        blocks.append(el("details", el("summary", key, count), inner, open=unfold))
    if not inline and not blocks:
        return None
    return el("div", inline, blocks, class_="evidence")


def _records(value: object) -> bool:
    return (isinstance(value, list) and 0 < len(value) <= 200
            and all(isinstance(item, dict) for item in value))


def _record_table(records: list[dict[str, Any]]) -> Markup:
    columns = list(dict.fromkeys(key for record in records for key in record))

    def cell(value: object) -> str:
        return value if isinstance(value, str) else json.dumps(value, default=str)

    return el("table", el("thead", el("tr", [el("th", c) for c in columns])),
              el("tbody", [el("tr", [el("td", cell(record.get(c, ""))) for c in columns])
                           for record in records]),
              class_="records")


def _client(result: RunResult) -> Markup:
    c = result.client
    if c.timed_out:
        ended = f"stopped at the time limit after {seconds(c.duration_s)}"
    elif c.exit_code is not None:
        ended = f"exit {c.exit_code} after {seconds(c.duration_s)}"
    else:
        ended = c.error or "no exit code"
    blocks = []
    if c.error and c.exit_code is not None:
        blocks.append(el("p", c.error))
    for name, text in (("stdout", c.stdout), ("stderr", c.stderr)):
        if text:
            note = f" (last {MAX_OUTPUT // 1024} KiB)" if len(text) > MAX_OUTPUT else ""
            blocks += [el("h4", name, note), el("pre", text[-MAX_OUTPUT:])]
    if not blocks:
        blocks.append(el("p", "No output.", class_="empty"))
    return el("details", el("summary", f"Client: {ended}"), blocks, class_="client")


def _transcripts(result: RunResult) -> Markup | None:
    t = result.timeline
    if not t.attempts:
        return None
    t0 = min(a.start_ns for a in t.attempts)
    blocks = []
    for a in sorted(t.attempts, key=lambda a: a.index):
        colour, how = closed(a)
        span = "still open" if a.end_ns is None else (
            f"+{(a.end_ns - t0) / 1e9:.4f} s ({seconds((a.end_ns - a.start_ns) / 1e9)})")
        notes = []
        if a.faults:
            notes.append(f"{len(a.faults)} fault(s)")
        codes = [str(code) for code in a.reply_codes if code >= 400]
        if codes:
            notes.append("replies " + ", ".join(codes))
        if a.of_kind("message"):
            notes.append("message stored")
        rows = [el("tr", el("td", f"+{(e.t_ns - t0) / 1e9:.4f}", class_="num"),
                   el("td", ARROWS.get(e.kind, e.kind), class_="kind"), el("td", el("pre", e.text)),
                   class_=f"k-{e.kind}")
                for e in a.events]
        if a.end_ns is not None:
            rows.append(el("tr", el("td", f"+{(a.end_ns - t0) / 1e9:.4f}", class_="num"),
                           el("td", "close", class_="kind"), el("td", el("pre", how)),
                           class_="k-close"))
        blocks.append(el(
            "details",
            el("summary", el("b", f"#{a.index}"),
               el("span", f"+{(a.start_ns - t0) / 1e9:.4f} s to {span}"),
               el("span", el("i", class_="swatch", style=f"background:{colour}"), how,
                  class_="closed"),
               [el("span", note) for note in notes]),
            el("table", el("tbody", rows), class_="transcript"),
            class_="attempt", id=f"{_anchor(result)}-attempt-{a.index}",
        ))
    return el("section", el("h3", "Attempts"), fragment(blocks))
