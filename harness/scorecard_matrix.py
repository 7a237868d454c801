"""The client resilience matrix: measured clients against the catalogue's categories,
generated from their JSON reports.

    python -m harness.scorecard_matrix add REPORT.json --out FOLDER/NAME.json \\
        --client "Go net/smtp" --configuration recipe --version go1.19.8 --command "..."
    python -m harness.scorecard_matrix build FOLDER --out PAGE.md [--pages RECIPES]

``add`` keeps what the matrix needs of a full report (marks, the failed checks' words, the
first attempts' timelines of the scenarios that earned no credit) with how and when it was
measured, and, when it replaces an earlier measurement of the same client, the scenarios
whose mark changed between the two (timing noise on a shared machine shows there);
``build`` writes the page from every such report in the folder, plus the upstream defects
described in the folder's ``defects.json``, each with its timeline excerpt, and (with
``--pages``) the measured table of each recipe page between its ``<!-- measured: NAME -->``
and ``<!-- end measured -->`` lines. None of it is edited by hand: a test rebuilds it from
the committed reports and compares.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.scorecard import (
    CATEGORIES,
    ScenarioMark,
    Scorecard,
    load_report,
    mark_of,
    scorecard,
)

_EXCERPT_ATTEMPTS = 2
_EXCERPT_EVENTS = 20
_SPEAKERS = {"command": "C:", "reply": "S:"}


def slim(report: Mapping[str, Any], measured: Mapping[str, str]) -> dict[str, Any]:
    """What the matrix keeps of a full report, with how it was measured."""
    scenarios = []
    for result in report["scenarios"]:
        mark = mark_of(result)
        kept: dict[str, Any] = {
            key: result[key] for key in ("scenario", "outcome", "passed", "why_not_exercised")
            if key in result
        }
        kept["attempt_count"] = len(result.get("attempts") or [])
        kept["expectations"] = [  # the passed ones add nothing to the marks
            {key: e.get(key) for key in ("name", "level", "status", "detail")}
            for e in result.get("expectations") or [] if e.get("status") != "passed"
        ]
        if not mark.credited:
            client = result.get("client") or {}
            kept["client"] = {"exit_code": client.get("exit_code"),
                              "timed_out": client.get("timed_out"),
                              "stderr": str(client.get("stderr") or "")[-600:]}
            kept["attempts"] = [  # the end of each attempt: where it went wrong
                {"index": a.get("index"), "closed_by": a.get("closed_by"),
                 "earlier_events": max(0, len(a.get("events") or []) - _EXCERPT_EVENTS),
                 "events": [{k: e.get(k) for k in ("t_s", "kind", "text")}
                            for e in (a.get("events") or [])[-_EXCERPT_EVENTS:]]}
                for a in (result.get("attempts") or [])[:_EXCERPT_ATTEMPTS]
            ]
        scenarios.append(kept)
    return {"harness_version": report.get("harness_version", ""), "measured": dict(measured),
            "scenarios": scenarios}


def changes(previous: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any] | None:
    """The scenarios of both measurements whose mark differs, with when each was made;
    None when ``previous`` measured another client or configuration."""
    before_m, after_m = previous.get("measured") or {}, kept["measured"]
    if any(before_m.get(k) != after_m.get(k) for k in ("client", "configuration")):
        return None
    before = {r["scenario"]: mark_of(r) for r in previous.get("scenarios") or []}
    changed = []
    for result in kept["scenarios"]:
        now, then = mark_of(result), before.get(result["scenario"])
        if then is not None and (then.mark, then.why) != (now.mark, now.why):
            changed.append({"scenario": now.scenario, "before": _said(then), "after": _said(now)})
    return {"date": before_m.get("date", ""), "commit": before_m.get("commit", ""),
            "changed": changed}


def merged(earlier: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any]:
    """``earlier`` with ``kept``'s scenarios measured again (or added): its own
    measurement stays, and the partial one is recorded with the scenarios it covered."""
    again = {r["scenario"] for r in kept["scenarios"]}
    scenarios = sorted([r for r in earlier["scenarios"] if r["scenario"] not in again]
                       + list(kept["scenarios"]), key=lambda r: str(r["scenario"]))
    partial = {"scenarios": sorted(again), "commit": kept["measured"]["commit"],
               "date": kept["measured"]["date"]}
    measured = {**earlier["measured"],
                "remeasured": [*earlier["measured"].get("remeasured", []), partial]}
    return {**earlier, "measured": measured, "scenarios": scenarios,
            **({"since_previous": kept["since_previous"]} if "since_previous" in kept else {})}


def _said(mark: ScenarioMark) -> str:
    return mark.mark + (f" ({mark.why})" if mark.why else "")


def excerpt(result: Mapping[str, Any]) -> list[str]:
    """The first attempts' timelines of one slimmed scenario, one event a line."""
    lines = []
    for attempt in result.get("attempts") or []:
        lines.append(f"attempt {attempt['index']} (closed by {attempt.get('closed_by')}):")
        if attempt.get("earlier_events"):
            lines.append(f"  ... {attempt['earlier_events']} earlier events")
        for event in attempt["events"]:
            who = _SPEAKERS.get(str(event["kind"]), f"[{event['kind']}]")
            text = str(event["text"]).replace("\n", " | ")
            lines.append(f"  {float(event['t_s']):7.3f}s {who} {text}")
    return lines


def _grade_cell(card: Scorecard, key: str) -> str:
    score = next(c for c in card.categories if c.category.key == key)
    if not score.marks:
        return "—"
    if score.grade is None:
        return f"not exercised 0/{score.total}"
    return f"{score.grade} {score.credited}/{score.total}"


def build(folder: Path) -> str:
    """The matrix page from every report in ``folder`` (and its ``defects.json``)."""
    entries = []
    for path in sorted(folder.glob("*.json")):
        if path.name == "defects.json":
            continue
        report = load_report(path)
        entries.append((path.stem, report, scorecard(report)))
    entries.sort(key=lambda e: (e[0].split(".")[0], e[1]["measured"]["configuration"] != "recipe"))
    keys = [c.key for c in CATEGORIES
            if any(any(s.category.key == c.key and s.marks for s in card.categories)
                   for _, _, card in entries) or c.key == "idle"]
    titles = {c.key: c.title for c in CATEGORIES}
    partial = [p for _, r, _ in entries for p in r["measured"].get("remeasured", [])]
    commits = sorted({str(r["measured"].get("commit", "")) for _, r, _ in entries}
                     | {str(p["commit"]) for p in partial})
    dates = sorted(({str(r["measured"].get("date", "")) for _, r, _ in entries}
                    | {str(p["date"]) for p in partial}) - {""})
    lines = [
        "<!-- generated by `python -m harness.scorecard_matrix build docs/recipes/reports"
        " --out docs/recipes/matrix.md`; do not edit -->",
        "# Client resilience matrix",
        "",
        "Each measured client, with the recipe's configuration and with the library's"
        " defaults (one attempt, no retry loop), against the built-in catalogue, graded per"
        " category as `harness scorecard` grades it: only a passed scenario earns credit"
        " (failed, inconclusive, not exercised and interrupted ones never do), and a row's"
        " overall grade is its lowest category grade. The reports behind it are in"
        " [`reports/`](reports/); each page in this folder explains its client's failures.",
        "",
        f"Measured on {' to '.join(dates[::max(1, len(dates) - 1)]) or 'an unrecorded date'}"
        f" with the harness at commit {', '.join(c[:12] for c in commits)}, by one command"
        " that measures every client in both configurations and rebuilds this page:"
        " `bash scripts/measure-recipes.sh` (one client: `bash scripts/measure-recipes.sh"
        " php`; each `harness run` command is below).",
        "",
        "| client | configuration | overall | passed | not exercised | inconclusive | "
        + " | ".join(titles[k] for k in keys) + " |",
        "|---|---|---|---|---|---|" + "---|" * len(keys),
    ]
    for _, report, card in entries:
        measured = report["measured"]
        cells = [_grade_cell(card, k) for k in keys]
        lines.append(f"| {measured['client']} {measured.get('version', '')} |"
                     f" {measured['configuration']} | {card.grade or '—'} |"
                     f" {card.credited}/{card.total} | {card.count('not-exercised')} |"
                     f" {card.count('inconclusive')} | " + " | ".join(cells) + " |")
    lines += ["", "`—`: no scenario of that group in the catalogue yet; `not exercised 0/N`:"
              " none of the group's scenarios was exercised, so it has no grade. *Not"
              " exercised*: the"
              " scenario's situation never arose (say, a second recipient for a client that"
              " sends to one), so it says nothing about the client; *inconclusive*: no check"
              " failed, but timing noise left one undecided. Neither earns credit.", ""]
    lines += _between(entries)
    lines += ["## What each client did not pass", ""]
    for _, report, card in entries:
        measured = report["measured"]
        lines += [f"### {measured['client']}, {measured['configuration']}", "",
                  f"`{measured['command']}`", ""]
        uncredited = [(s.category.title, m) for s in card.categories for m in s.uncredited]
        if not uncredited:
            lines += ["Every scenario passed.", ""]
            continue
        lines += [f"- `{m.scenario}` ({title}): {m.mark}: {m.why}" for title, m in uncredited]
        lines.append("")
    lines += _defects(folder, {stem: report for stem, report, _ in entries})
    return "\n".join(lines).rstrip() + "\n"


def _between(entries: Sequence[tuple[str, Mapping[str, Any], Scorecard]]) -> list[str]:
    """The scenarios whose mark changed since each client's previous measurement."""
    compared = [(r["measured"], r["since_previous"]) for _, r, _ in entries
                if r.get("since_previous")]
    if not compared:
        return []
    lines = ["## Between the last two measurements", "",
             "Each client was measured before, and its report kept the marks that changed."
             " Where both measurements ran the same harness, a change is the machine's timing"
             " noise (two cores shared with other test runs): the checks that time a client"
             " say *inconclusive* when the noise could decide them, and a client whose"
             " behaviour sits near a bound can land on either side. Where the harness"
             " changed in between, a change may be the harness's.", ""]
    for measured, since in compared:
        same = str(since.get("commit")) == str(measured.get("commit"))
        head = (f"- **{measured['client']}, {measured['configuration']}**, against"
                f" {since.get('date') or 'an undated measurement'} (harness"
                f" {str(since.get('commit'))[:12]}{', the same' if same else ''}): ")
        changed = since.get("changed") or []
        lines.append(head + ("no mark changed." if not changed else "; ".join(
            f"`{c['scenario']}` {c['before']} → {c['after']}" for c in changed) + "."))
    return [*lines, ""]


_BLOCK = re.compile(r"(<!-- measured: ([\w.-]+) -->\n).*?(<!-- end measured -->)", re.S)


def measured_block(folder: Path, name: str) -> str:
    """A recipe page's measured table: the client's reports, recipe and defaults."""
    lines = ["| configuration | passed | failed | not exercised | inconclusive | grade"
             " | scenarios not passed |", "|---|---|---|---|---|---|---|"]
    undecided = unexercised = False
    changed = []
    for path in sorted(folder.glob(f"{name}.*.json"), reverse=True):  # recipe, then defaults
        report = load_report(path)
        card = scorecard(report)
        undecided |= card.count("inconclusive") > 0
        unexercised |= card.count("not-exercised") > 0
        behind = ", ".join(f"`{m.scenario}`" + ("" if m.mark == "failed" else f" ({m.mark})")
                           for c in card.categories for m in c.uncredited)
        lines.append(f"| {report['measured']['configuration']} | {card.credited}/{card.total}"
                     f" | {card.count('failed')} | {card.count('not-exercised')}"
                     f" | {card.count('inconclusive')} | {card.grade or '—'} | {behind} |")
        since = report.get("since_previous")
        if since and since.get("changed"):
            changed.append(f"{report['measured']['configuration']}: " + "; ".join(
                f"`{c['scenario']}` {c['before']} → {c['after']}" for c in since["changed"]))
    measured = load_report(folder / f"{name}.recipe.json")["measured"]
    date = f" on {measured['date']}" if measured.get("date") else ""
    again = "".join(
        f"; {', '.join(f'`{n}`' for n in p['scenarios'])} measured again on {p['date']} at"
        f" {str(p['commit'])[:12]} (`--only`)" for p in measured.get("remeasured", []))
    lines += ["", f"{measured['client']} {measured['version']}, the built-in catalogue, two"
              f" scenarios at once on two shared cores, measured{date} by"
              f" `bash scripts/measure-recipes.sh` (harness at commit"
              f" {str(measured['commit'])[:12]}{again}); generated from [`reports/`](reports/)"
              " by `python -m harness.scorecard_matrix build`."]
    if unexercised:
        lines[-1] += (" A *not exercised* scenario's situation never arose: it says nothing"
                      " about the client, and earns no credit.")
    if undecided:
        lines[-1] += (" An *inconclusive* scenario failed no check, but timing noise on the"
                      " loaded machine left one undecided: no credit.")
    if changed:
        lines += ["", "Marks that changed since the previous measurement (see the"
                  " [matrix](matrix.md#between-the-last-two-measurements)): "
                  + "; ".join(changed) + "."]
    return "\n".join([*lines, ""])


def update_pages(folder: Path, pages: Path) -> list[Path]:
    """Rewrite the measured blocks of the recipe pages in ``pages``; the pages changed."""
    changed = []
    for page in sorted(pages.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        new = _BLOCK.sub(lambda m: m.group(1) + measured_block(folder, m.group(2))
                         + m.group(3), text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed


def _defects(folder: Path, reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    path = folder / "defects.json"
    if not path.is_file():
        return []
    lines = ["## Upstream defects found", "",
             "Each as the harness saw it: the library's version, the scenario that shows it,"
             " what the library did (the first attempts' timeline: `C:` the client, `S:` the"
             " server), and what it should do instead.", ""]
    for defect in json.loads(path.read_text(encoding="utf-8")):
        report = reports[defect["report"]]
        (result,) = [s for s in report["scenarios"] if s["scenario"] == defect["scenario"]]
        if mark_of(result).credited:
            raise ValueError(f"defects.json: {defect['scenario']} passed in"
                             f" {defect['report']}; the defect is not shown there any more")
        failed = [e for e in result["expectations"] if e["status"] == "failed"]
        lines += [f"### {defect['title']}", "",
                  f"- Library: {report['measured']['client']}"
                  f" {report['measured'].get('version', '')}",
                  f"- Scenario: `{defect['scenario']}`; reproduce with"
                  f" `{_reproduce(report['measured']['command'], defect['scenario'])}`",
                  f"- Expected: {defect['expected']}",
                  *[f"- The harness: {e['level']} `{e['name']}`: {e['detail']}" for e in failed],
                  *(_last_words(result) if any(e["name"] == "client-exit" for e in failed)
                    else []),
                  "", "```", *excerpt(result), "```", ""]
    return lines


def _reproduce(command: str, scenario: str) -> str:
    """The measured command narrowed to one scenario: ``harness run SCENARIO -- ...``."""
    _, _, client = command.partition(" -- ")
    return f"harness run {scenario} -- {client}" if client else command


def _last_words(result: Mapping[str, Any]) -> list[str]:
    """The client's exit and the last line it printed on stderr, when it printed one."""
    client = result.get("client") or {}
    said = [line for line in str(client.get("stderr") or "").splitlines() if line.strip()]
    if not said:
        return []
    return [f"- The client exited with {client.get('exit_code')}, saying:"
            f" `{said[-1].strip().replace('`', chr(39))}`"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.scorecard_matrix",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="action", required=True)
    add = commands.add_parser("add", help="keep a JSON report for the matrix")
    add.add_argument("report")
    add.add_argument("--out", required=True)
    for field in ("client", "configuration", "version", "command", "commit"):
        add.add_argument(f"--{field}", required=True)
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    add.add_argument("--date", default=today,
                     help="when it was measured (default: today, UTC)")
    add.add_argument("--merge", action="store_true",
                     help="replace only the report's scenarios in --out, keep the others")
    page = commands.add_parser("build", help="write the matrix page from a folder of reports")
    page.add_argument("folder")
    page.add_argument("--out", help="the page to write (default: standard output)")
    page.add_argument("--pages", help="also rewrite the measured blocks of the recipe pages"
                      " in this folder")
    args = parser.parse_args(argv)
    if args.action == "add":
        measured = {f: getattr(args, f) for f in
                    ("client", "configuration", "version", "command", "commit", "date")}
        kept = slim(load_report(args.report), measured)
        out = Path(args.out)
        if out.is_file() and (since := changes(load_report(out), kept)) is not None:
            kept["since_previous"] = since
        if args.merge:
            kept = merged(load_report(out), kept)
        Path(args.out).write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
        return 0
    text = build(Path(args.folder))
    if args.pages:
        update_pages(Path(args.folder), Path(args.pages))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
