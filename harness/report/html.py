"""The HTML report: one self-contained file a person opens instead of reading logs.

Per scenario: a timeline picture of the attempts (one bar per connection, from accept to
close, coloured by how it closed, with the faults, toxics, TLS handshakes and stored
messages marked on it), the measured delays between attempts beside the declared and the
fitted envelope, the verdict with its evidence, the client's output, and every attempt's
transcript. Inline CSS and SVG only: no script, no font, nothing fetched when it opens.
Everything that came from the client or the wire is escaped.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import __version__
from harness.run import RunResult
from harness.timeline import Attempt, Event
from harness.verdicts import BackoffPolicy, FittedPolicy, Result
from harness.verdicts.backoff import support_s
from harness.verdicts.delays import Retry, failure_ns, retries

#: Scenarios shown unfolded when a report has at most this many; beyond, only failures.
OPEN_ALL_UP_TO = 8
#: Markers of one kind drawn per attempt; the transcript below the picture has them all.
MAX_MARKERS = 40
#: Client output kept per stream (the end of it, where the error usually is).
MAX_OUTPUT = 64 * 1024

_CLOSES: dict[str | None, tuple[str, str]] = {
    "client-quit": ("#3f9c6d", "client sent QUIT"),
    "client-close": ("#5a8fd6", "client closed"),
    "client-reset": ("#3d68b0", "client reset"),
    "server-close": ("#e0a033", "server closed (fault or 421)"),
    "server-reset": ("#d2712c", "server reset (fault)"),
    "idle-timeout": ("#9aa3ad", "server idle timeout"),
    "server-stop": ("#9aa3ad", "open until the server stopped"),
    "tls-failed": ("#8b66c9", "TLS handshake failed"),
    "proxy-close": ("#c0785a", "proxy closed (toxic or down)"),
    "proxy-reset": ("#a9533d", "proxy reset (toxic)"),
    None: ("#9aa3ad", "still open"),
}
_FAULT, _TOXIC, _TLS_OK, _TLS_BAD, _MESSAGE = "#d64545", "#e08a1e", "#2f7bd1", "#8b66c9", "#2e9960"
_ARROWS = {"command": "C:", "reply": "S:"}

_W, _LEFT, _RIGHT, _TOP, _ROW, _BAR = 940, 64, 24, 14, 30, 12


def write_html(path: str | Path, results: Sequence[RunResult], seed: int | None) -> None:
    """Write the HTML report of ``results`` (``seed``: the ``--seed`` given, if any)."""
    Path(path).write_text(html_report(results, seed), encoding="utf-8")


def html_report(results: Sequence[RunResult], seed: int | None) -> str:
    """The whole report as one HTML document; failed scenarios come first."""
    ordered = [r for r in results if not r.passed] + [r for r in results if r.passed]
    unfold_all = len(results) <= OPEN_ALL_UP_TO
    body = [_summary(ordered, seed)]
    body += [_scenario(r, unfold_all or not r.passed) for r in ordered]
    failed = sum(not r.passed for r in results)
    title = f"{'FAIL' if failed else 'PASS'}: smtp-fault-harness, {len(results)} scenario(s)"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _anchor(result: RunResult) -> str:
    return "scenario-" + re.sub(r"[^A-Za-z0-9_.-]", "-", result.scenario.name)


def _pill(passed: bool) -> str:
    word = "PASS" if passed else "FAIL"
    return f'<span class="pill {word.lower()}">{word}</span>'


def _status(result: Result) -> str:
    label = {"failed": "failed" if result.fails else "noted"}.get(result.status, result.status)
    return f'<span class="status {_e(result.status)} {_e(result.level)}">{_e(label)}</span>'


def _seconds(value: float) -> str:
    """A duration as a person reads it: ``412 µs``, ``38.2 ms``, ``1.204 s``."""
    magnitude = abs(value)
    if magnitude < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if magnitude < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.3f} s"


# -- the summary -------------------------------------------------------------------------


def _summary(results: Sequence[RunResult], seed: int | None) -> str:
    failed = sum(not r.passed for r in results)
    passed = len(results) - failed
    seed_text = "random per scenario" if seed is None else str(seed)
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for r in results:
        first = r.verdict.failures[0].name if r.verdict.failures else ""
        rows.append(
            f'<tr class="{"failed" if not r.passed else ""}"><td>{_pill(r.passed)}</td>'
            f'<td><a href="#{_anchor(r)}">{_e(r.scenario.name)}</a></td>'
            f'<td class="num">{len(r.timeline.attempts)}</td>'
            f'<td class="num">{len(r.timeline.messages)}</td>'
            f'<td class="num">{_e(_seconds(r.duration_s))}</td>'
            f'<td class="why">{_e(first)}</td></tr>'
        )
    verdict = "failed" if failed else "passed"
    return (
        f'<header class="summary {verdict}">\n'
        f'<h1>smtp-fault-harness <span class="sub">run report</span></h1>\n'
        f'<p class="counts"><span class="big fail-count{" zero" if not failed else ""}">'
        f'{failed} failed</span><span class="big pass-count{" zero" if not passed else ""}">'
        f'{passed} passed</span>'
        f'<span class="of">of {len(results)} scenario(s)</span></p>\n'
        f'<dl class="meta"><div><dt>seed</dt><dd>{_e(seed_text)}</dd></div>'
        f'<div><dt>harness</dt><dd>{_e(__version__)}</dd></div>'
        f'<div><dt>written</dt><dd>{_e(generated)}</dd></div>'
        f'{_noise(results)}</dl>\n'
        '<table class="index"><thead><tr><th></th><th>scenario</th><th class="num">attempts'
        '</th><th class="num">delivered</th><th class="num">duration</th>'
        '<th>first failed expectation</th></tr></thead>\n<tbody>'
        + "".join(rows)
        + "</tbody></table>\n</header>"
    )


def _noise(results: Sequence[RunResult]) -> str:
    measured = [r.verdict.calibration for r in results if r.verdict.calibration.measured]
    if not measured:
        return ""
    return (f'<div><dt>timer noise</dt><dd>p99.9 {_e(_seconds(measured[0].q_s))}</dd></div>')


# -- one scenario ------------------------------------------------------------------------


def _scenario(result: RunResult, unfold: bool) -> str:
    s, t, c = result.scenario, result.timeline, result.client
    client = ("timed out" if c.timed_out else
              f"exit {c.exit_code}" if c.exit_code is not None else (c.error or "no exit code"))
    facts = [
        f"{len(t.attempts)} attempt(s)", f"{len(t.messages)} message(s) stored",
        f"client {client}", _seconds(result.duration_s), f"seed {result.seed}",
    ]
    meta = "".join(f"<span>{_e(f)}</span>" for f in facts)
    parts = [
        f'<details class="scenario {"failed" if not result.passed else "passed"}"'
        f' id="{_anchor(result)}"{" open" if unfold else ""}>',
        f'<summary>{_pill(result.passed)}<span class="name">{_e(s.name)}</span>'
        f'<span class="facts">{meta}</span></summary>',
        '<div class="body">',
    ]
    if s.about:
        parts.append(f'<p class="about">{_e(s.about)}</p>')
    if result.verdict.failures:
        items = "".join(f"<li><strong>{_e(f.name)}</strong> <em>{_e(f.level)}</em>"
                        f" {_e(f.detail)}</li>" for f in result.verdict.failures)
        parts.append(f'<div class="callout"><h3>Failed expectations</h3><ul>{items}</ul></div>')
    parts.append(_timeline(result))
    parts.append(_delays(result))
    parts.append(_verdicts(result))
    parts.append(_client(result))
    parts.append(_transcripts(result))
    parts.append("</div></details>")
    return "\n".join(p for p in parts if p)


# -- the timeline picture ----------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """Seconds from the first accept mapped onto the picture's x coordinates."""

    t0_ns: int
    end_s: float
    step_s: float

    @classmethod
    def of(cls, result: RunResult) -> _Axis:
        t = result.timeline
        t0 = min((a.start_ns for a in t.attempts), default=t.origin_ns)
        stamps = [a.end_ns for a in t.attempts if a.end_ns is not None]
        stamps += [e.t_ns for a in t.attempts for e in a.events]
        last = max(stamps, default=t0)
        if any(a.end_ns is None for a in t.attempts):
            last = max(last, t.origin_ns + int(result.duration_s * 1e9))
        span = max((last - t0) / 1e9, 1e-3)
        windows = [w for w in _windows(result).values() if math.isfinite(w[1])]
        span = max([span] + [min(high, 3 * span) for _, high in windows])
        step = _nice_step(span / 6)
        return cls(t0, math.ceil(span / step * 1.0001) * step, step)

    def s(self, t_ns: int) -> float:
        return (t_ns - self.t0_ns) / 1e9

    def x(self, seconds: float) -> float:
        inner = _W - _LEFT - _RIGHT
        return _LEFT + max(0.0, min(1.0, seconds / self.end_s)) * inner

    def ticks(self) -> list[float]:
        count = round(self.end_s / self.step_s)
        return [i * self.step_s for i in range(count + 1)]


def _windows(result: RunResult) -> dict[int, tuple[float, float]]:
    """Per retried attempt: the declared policy's window, as seconds since the first
    connection (empty when the scenario declares no policy)."""
    policy = result.scenario.expectations().backoff
    if not isinstance(policy, BackoffPolicy):
        return {}
    t = result.timeline
    t0 = min((a.start_ns for a in t.attempts), default=t.origin_ns)
    by_index = {a.index: a for a in t.attempts}
    found: dict[int, tuple[float, float]] = {}
    previous: float | None = None
    for r in retries(t):
        failure = failure_ns(by_index[r.attempt - 1])
        low, high = support_s(policy, r.n, previous)
        previous = r.failure_to_start_s
        if failure is not None:
            f_s = (failure[0] - t0) / 1e9
            found[r.attempt] = (f_s + low, f_s + high)
    return found


def _nice_step(raw: float) -> float:
    exponent = math.floor(math.log10(raw))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        if mantissa * 10**exponent >= raw:
            return float(mantissa * 10**exponent)
    return float(10 ** (exponent + 1))


def _tick_label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f}"


def _timeline(result: RunResult) -> str:
    attempts = sorted(result.timeline.attempts, key=lambda a: a.index)
    if not attempts:
        return ('<section><h3>Timeline</h3><p class="empty">No connection reached the'
                " server: the client never connected.</p></section>")
    axis = _Axis.of(result)
    height = _TOP + len(attempts) * _ROW + 34
    svg = [f'<svg class="timeline" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}"'
           f' role="img" aria-label="attempts of {_e(result.scenario.name)} over time">']
    bottom = _TOP + len(attempts) * _ROW
    for tick in axis.ticks():
        x = axis.x(tick)
        svg.append(f'<line class="grid" x1="{x:.1f}" y1="{_TOP - 4}" x2="{x:.1f}" y2="{bottom}"/>')
        svg.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
                   f"{_tick_label(tick, axis.step_s)}</text>")
    svg.append(f'<text class="axis-label" x="{_W - _RIGHT}" y="{bottom + 30}" text-anchor="end">'
               "seconds since the first connection</text>")
    windows = _windows(result)
    spacing = {r.attempt: r for r in retries(result.timeline)}
    by_index = {a.index: a for a in attempts}
    for row, attempt in enumerate(attempts):
        y = _TOP + row * _ROW + (_ROW - _BAR) / 2
        svg.append(f'<text class="row-label" x="{_LEFT - 10}" y="{y + _BAR - 2:.1f}"'
                   f' text-anchor="end">#{attempt.index}</text>')
        retry = spacing.get(attempt.index)
        before = by_index.get(attempt.index - 1)
        if retry is not None and before is not None:
            svg += _gap(axis, retry, before, attempt, y, windows.get(attempt.index))
        svg += _bar(axis, attempt, y, _anchor(result))
    svg.append("</svg>")
    return (
        '<section><h3>Timeline</h3>\n<div class="figure">' + "".join(svg) + "</div>\n"
        + _legend(attempts, bool(windows))
        + "</section>"
    )


def _gap(axis: _Axis, retry: Retry, before: Attempt, attempt: Attempt, y: float,
         window: tuple[float, float] | None) -> list[str]:
    """The wait before a retry: a dashed line from the failure to the next accept, the
    declared window where the retry should have started, and the measured delay."""
    failure = failure_ns(before)
    if failure is None:
        return []
    f_s, start_s = axis.s(failure[0]), axis.s(attempt.start_ns)
    mid = y + _BAR / 2
    out = []
    if window is not None:
        low, high = window[0] - f_s, window[1] - f_s
        x1, x2 = axis.x(window[0]), axis.x(window[1])
        tooltip = (f"declared window for retry {retry.n}: {_seconds(low)} to"
                   f" {_seconds(high)} after attempt {before.index} failed")
        out.append(f'<rect class="window" x="{x1:.1f}" y="{y - 4:.1f}"'
                   f' width="{max(x2 - x1, 2):.1f}" height="{_BAR + 8}">'
                   f"<title>{_e(tooltip)}</title></rect>")
    xf, xs = axis.x(f_s), axis.x(start_s)
    out.append(f'<line class="wait" x1="{xf:.1f}" y1="{mid:.1f}" x2="{xs:.1f}" y2="{mid:.1f}"/>')
    out.append(f'<line class="wait-end" x1="{xf:.1f}" y1="{y:.1f}" x2="{xf:.1f}"'
               f' y2="{y + _BAR:.1f}"/>')
    label = f"waited {_seconds(retry.failure_to_start_s)}"
    tooltip = (f"retry {retry.n}: attempt {attempt.index} connected"
               f" {_seconds(retry.failure_to_start_s)} after attempt {before.index} failed"
               f" ({retry.failed_by}); {_seconds(retry.start_to_start_s)} start to start")
    if xs - xf > 96:  # inside the gap, clear of the marks at the bar's start
        x, anchor, ty = xf + 5, "start", y - 1
    elif xf - _LEFT > 96:  # before the failure
        x, anchor, ty = xf - 5, "end", y + _BAR - 2
    else:  # after the bar
        x, anchor, ty = xs + max(_bar_width(axis, attempt), 3.0) + 8, "start", y + _BAR - 2
    out.append(f'<text class="wait-label" x="{x:.1f}" y="{ty:.1f}" text-anchor="{anchor}">'
               f"{_e(label)}<title>{_e(tooltip)}</title></text>")
    return out


def _bar_width(axis: _Axis, attempt: Attempt) -> float:
    end = axis.end_s if attempt.end_ns is None else axis.s(attempt.end_ns)
    return axis.x(end) - axis.x(axis.s(attempt.start_ns))


def _bar(axis: _Axis, attempt: Attempt, y: float, uid: str) -> list[str]:
    colour, how = _CLOSES.get(attempt.closed_by, _CLOSES[None])
    x1 = axis.x(axis.s(attempt.start_ns))
    open_ended = attempt.end_ns is None
    x2 = axis.x(axis.end_s) if open_ended else axis.x(axis.s(attempt.end_ns or 0))
    width = max(x2 - x1, 3.0)
    end_text = "still open" if open_ended else f"+{axis.s(attempt.end_ns or 0):.4f} s"
    lines = [f"attempt #{attempt.index}: +{axis.s(attempt.start_ns):.4f} s to {end_text}",
             f"closed: {how}"]
    shown = [e for e in attempt.events if e.kind in ("command", "reply")]
    lines += [f"{_ARROWS[e.kind]} {e.text.splitlines()[0] if e.text else ''}" for e in shown[:12]]
    if len(shown) > 12:
        lines.append(f"... {len(shown) - 12} more in the transcript below")
    gradient = f"{uid}-open-{attempt.index}"
    fill = f"url(#{gradient})" if open_ended else colour
    out = []
    if open_ended:
        out.append(f'<defs><linearGradient id="{gradient}"><stop offset="0"'
                   f' stop-color="{colour}"/><stop offset="0.7" stop-color="{colour}"/>'
                   f'<stop offset="1" stop-color="{colour}" stop-opacity="0"/>'
                   "</linearGradient></defs>")
    out.append(f'<rect class="bar" x="{x1:.1f}" y="{y:.1f}" width="{width:.1f}" height="{_BAR}"'
               f' rx="3" fill="{fill}"><title>{_e(chr(10).join(lines))}</title></rect>')
    out += _ticks(axis, attempt, y)
    out += _markers(axis, attempt, y)
    return out


def _ticks(axis: _Axis, attempt: Attempt, y: float) -> list[str]:
    """Thin marks in the bar: each command, and each 4yz/5yz reply in its own colour."""
    out = []
    for event in _limited(e for e in attempt.events if e.kind in ("command", "reply")):
        x = axis.x(axis.s(event.t_ns))
        code = int(event.data.get("code", 0)) if event.kind == "reply" else 0
        cls = "tick-cmd" if event.kind == "command" else (
            "tick-5xx" if code >= 500 else "tick-4xx" if code >= 400 else "tick-reply")
        out.append(f'<line class="{cls}" x1="{x:.1f}" y1="{y + 2:.1f}" x2="{x:.1f}"'
                   f' y2="{y + _BAR - 2:.1f}"><title>{_e(_event_text(axis, event))}</title></line>')
    return out


def _markers(axis: _Axis, attempt: Attempt, y: float) -> list[str]:
    out = []
    for event in _limited(attempt.of_kind("fault")):
        x, top = axis.x(axis.s(event.t_ns)), y - 2
        out.append(f'<path class="m-fault" d="M{x - 5:.1f},{top - 7:.1f} L{x + 5:.1f},{top - 7:.1f}'
                   f' L{x:.1f},{top:.1f} Z" fill="{_FAULT}"><title>{_e(_event_text(axis, event))}'
                   "</title></path>")
    for event in _limited(attempt.of_kind("toxic")):
        x, bottom = axis.x(axis.s(event.t_ns)), y + _BAR + 2
        out.append(f'<path class="m-toxic" d="M{x:.1f},{bottom:.1f} L{x + 4:.1f},{bottom + 4:.1f}'
                   f' L{x:.1f},{bottom + 8:.1f} L{x - 4:.1f},{bottom + 4:.1f} Z" fill="{_TOXIC}">'
                   f"<title>{_e(_event_text(axis, event))}</title></path>")
    handshakes = [e for e in attempt.of_kind("tls") if e.data.get("event") == "handshake"]
    for event in _limited(handshakes):
        x, ok = axis.x(axis.s(event.t_ns)), bool(event.data.get("ok"))
        out.append(f'<circle class="m-tls" cx="{x:.1f}" cy="{y + _BAR / 2:.1f}" r="4.5"'
                   f' fill="{_TLS_OK if ok else "#fff"}" stroke="{_TLS_OK if ok else _TLS_BAD}"'
                   f' stroke-width="2"><title>{_e(_event_text(axis, event))}</title></circle>')
    for event in _limited(attempt.of_kind("message")):
        x = axis.x(axis.s(event.t_ns))
        out.append(f'<rect class="m-message" x="{x - 4.5:.1f}" y="{y + _BAR / 2 - 4.5:.1f}"'
                   f' width="9" height="9" rx="1.5" fill="#fff" stroke="{_MESSAGE}"'
                   f' stroke-width="2.5"><title>{_e("message stored: " + _event_text(axis, event))}'
                   "</title></rect>")
    return out


def _limited(events: Iterable[Event]) -> list[Event]:
    return list(events)[:MAX_MARKERS]


def _event_text(axis: _Axis, event: Event) -> str:
    return f"+{axis.s(event.t_ns):.4f} s {event.kind}: {event.text}"


def _legend(attempts: Sequence[Attempt], windows: bool) -> str:
    items = []
    for reason in dict.fromkeys(a.closed_by for a in attempts):
        colour, how = _CLOSES.get(reason, _CLOSES[None])
        items.append(f'<span><i class="swatch" style="background:{colour}"></i>{_e(how)}</span>')
    kinds = {e.kind for a in attempts for e in a.events}
    handshakes = [e for a in attempts for e in a.of_kind("tls")
                  if e.data.get("event") == "handshake"]
    if "fault" in kinds:
        items.append(f'<span><i class="glyph" style="color:{_FAULT}">▼</i>fault fired</span>')
    if "toxic" in kinds:
        items.append(f'<span><i class="glyph" style="color:{_TOXIC}">◆</i>toxic</span>')
    if any(e.data.get("ok") for e in handshakes):
        items.append(f'<span><i class="glyph" style="color:{_TLS_OK}">●</i>TLS handshake</span>')
    if any(not e.data.get("ok") for e in handshakes):
        items.append(f'<span><i class="glyph" style="color:{_TLS_BAD}">○</i>TLS failed</span>')
    if "message" in kinds:
        items.append(f'<span><i class="glyph" style="color:{_MESSAGE}">▣</i>message stored</span>')
    if any(e.kind == "reply" and int(e.data.get("code", 0)) >= 400
           for a in attempts for e in a.events):
        items.append('<span><i class="glyph tick4">|</i>4yz/5yz reply</span>')
    if windows:
        items.append('<span><i class="swatch window"></i>declared retry window</span>')
    items.append('<span class="hint">hover a mark for its text; transcripts below</span>')
    return f'<p class="legend">{"".join(items)}</p>\n'


# -- retry spacing -----------------------------------------------------------------------


def _delays(result: RunResult) -> str:
    found = retries(result.timeline)
    policy = result.scenario.expectations().backoff
    declared = policy if isinstance(policy, BackoffPolicy) else None
    fitted = result.verdict.fitted
    if not found and policy is None:
        return ""
    lines = []
    if declared is not None:
        lines.append(f"<dt>declared</dt><dd>{_e(_describe_policy(declared))}</dd>")
    elif policy == "increasing":
        lines.append("<dt>declared</dt><dd>backoff: increasing (the delays must grow;"
                     " no envelope declared)</dd>")
    if fitted is not None:
        lines.append(f"<dt>observed</dt><dd>{_e(fitted.describe())}</dd>")
    head = f'<dl class="policy">{"".join(lines)}</dl>'
    if not found:
        return (f'<section><h3>Delays between attempts</h3>{head}<p class="empty">The client'
                " made no retry after a failure.</p></section>")
    rows, previous = [], None
    scale = _delay_scale(found, declared, fitted)
    for r in found:
        window = support_s(declared, r.n, previous) if declared is not None else None
        previous = r.failure_to_start_s
        fit = _fitted_envelope(fitted, r.n)
        rows.append(
            f"<tr><td class=\"num\">{r.n}</td><td class=\"num\">#{r.attempt}</td>"
            f'<td class="after">{_e(r.failed_by)}</td>'
            f'<td class="num strong">{_e(_seconds(r.failure_to_start_s))}</td>'
            f'<td class="num">{_e(_seconds(r.start_to_start_s))}</td>'
            f'<td class="num">{_e(_window_text(window))}</td>'
            f'<td class="num">{_e("" if fit is None else _seconds(fit))}</td>'
            f"<td>{_delay_chart(r, window, fit, scale)}</td></tr>"
        )
    key = '<i class="swatch window"></i>declared window ' if declared is not None else ""
    return (
        f"<section><h3>Delays between attempts</h3>{head}\n"
        '<table class="delays"><thead><tr><th class="num">retry</th><th class="num">attempt'
        '</th><th>after</th><th class="num">waited</th><th class="num">start to start</th>'
        '<th class="num">declared</th><th class="num">fitted</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>\n"
        f'<p class="note"><span class="key">{key}<i class="dot"></i>waited'
        ' <i class="fitmark"></i>fitted envelope</span><br>'
        "waited: from the moment the server made the previous attempt fail to the next"
        " connection; start to start: accept to accept.</p></section>"
    )


def _describe_policy(policy: BackoffPolicy) -> str:
    cap = "no cap" if policy.cap_s is None else f"cap {_seconds(policy.cap_s)}"
    return (f"initial {_seconds(policy.initial_s)}, factor {policy.factor:g}, {cap},"
            f" jitter {policy.jitter}")


def _window_text(window: tuple[float, float] | None) -> str:
    if window is None:
        return "none declared"
    low, high = window
    return _seconds(low) if low == high else f"{_seconds(low)} to {_seconds(high)}"


def _fitted_envelope(fitted: FittedPolicy | None, n: int) -> float | None:
    if fitted is None:
        return None
    value = fitted.initial_s * (fitted.factor or 1.0) ** (n - 1)
    return value if fitted.cap_s is None else min(fitted.cap_s, value)


def _delay_scale(found: Sequence[Retry], declared: BackoffPolicy | None,
                 fitted: FittedPolicy | None) -> float:
    values = [r.failure_to_start_s for r in found]
    previous = None
    for r in found:
        if declared is not None:
            values.append(support_s(declared, r.n, previous)[1])
        if (fit := _fitted_envelope(fitted, r.n)) is not None:
            values.append(fit)
        previous = r.failure_to_start_s
    return max([v for v in values if math.isfinite(v)] + [1e-3]) * 1.1


def _delay_chart(r: Retry, window: tuple[float, float] | None, fit: float | None,
                 scale: float) -> str:
    width, height = 150, 16

    def x(value: float) -> float:
        return 2 + min(1.0, max(0.0, value / scale)) * (width - 4)

    parts = [f'<svg class="delay" viewBox="0 0 {width} {height}" width="{width}"'
             f' height="{height}" role="img" aria-label="retry {r.n}">',
             f'<line class="track" x1="2" y1="{height / 2}" x2="{width - 2}" y2="{height / 2}"/>']
    if window is not None:
        x1, x2 = x(window[0]), x(window[1])
        parts.append(f'<rect class="window" x="{x1:.1f}" y="2" width="{max(x2 - x1, 2):.1f}"'
                     f' height="{height - 4}"><title>{_e(_window_text(window))}</title></rect>')
    if fit is not None:
        parts.append(f'<line class="fitmark" x1="{x(fit):.1f}" y1="1" x2="{x(fit):.1f}"'
                     f' y2="{height - 1}"><title>fitted envelope {_e(_seconds(fit))}</title>'
                     "</line>")
    parts.append(f'<circle class="dot" cx="{x(r.failure_to_start_s):.1f}" cy="{height / 2}"'
                 f' r="4"><title>waited {_e(_seconds(r.failure_to_start_s))}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


# -- verdict, client, transcripts --------------------------------------------------------


def _verdicts(result: RunResult) -> str:
    if not result.verdict.results:
        return ('<section><h3>Expectations</h3><p class="empty">The scenario expects'
                " nothing.</p></section>")
    rows = []
    for r in result.verdict.results:
        rows.append(
            f'<tr class="{"fails" if r.fails else "s-" + _e(r.status)}"><td>{_status(r)}</td>'
            f'<td class="name">{_e(r.name)}<span class="level">{_e(r.level)}</span></td>'
            f'<td><p class="detail">{_e(r.detail)}</p>{_evidence(r.evidence, r.fails)}</td>'
            "</tr>"
        )
    return (
        "<section><h3>Expectations</h3>\n<table class=\"verdicts\"><thead><tr><th>status</th>"
        "<th>expectation</th><th>detail and evidence</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _evidence(evidence: Mapping[str, Any], unfold: bool) -> str:
    """Evidence as a person reads it: short values inline, lists of records as small
    tables (folded unless the expectation failed), anything else as indented JSON."""
    inline, blocks = [], []
    for key, value in evidence.items():
        text = json.dumps(value, default=str, ensure_ascii=False)
        if len(text) <= 100:
            inline.append(f"<span><b>{_e(key)}</b> {_e(text)}</span>")
            continue
        if _records(value):
            inner = _record_table(value)
        else:
            inner = f"<pre>{_e(json.dumps(value, indent=2, default=str, ensure_ascii=False))}</pre>"
        count = f" ({len(value)})" if isinstance(value, (list, dict)) else ""
        blocks.append(f'<details{" open" if unfold else ""}><summary>{_e(key)}{_e(count)}'
                      f"</summary>{inner}</details>")
    if not inline and not blocks:
        return ""
    return f'<div class="evidence">{"".join(inline)}{"".join(blocks)}</div>'


def _records(value: object) -> bool:
    return (isinstance(value, list) and 0 < len(value) <= 200
            and all(isinstance(item, dict) for item in value))


def _record_table(records: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for record in records for key in record))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column, "")
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            cells.append(f"<td>{_e(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table class="records"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _client(result: RunResult) -> str:
    c = result.client
    if c.timed_out:
        ended = f"stopped at the time limit after {_seconds(c.duration_s)}"
    elif c.exit_code is not None:
        ended = f"exit {c.exit_code} after {_seconds(c.duration_s)}"
    else:
        ended = c.error or "no exit code"
    blocks = []
    if c.error and c.exit_code is not None:
        blocks.append(f"<p>{_e(c.error)}</p>")
    for name, text in (("stdout", c.stdout), ("stderr", c.stderr)):
        if text:
            cut = len(text) > MAX_OUTPUT
            kept = text[-MAX_OUTPUT:]
            note = f" (last {MAX_OUTPUT // 1024} KiB)" if cut else ""
            blocks.append(f"<h4>{name}{note}</h4><pre>{_e(kept)}</pre>")
    if not blocks:
        blocks.append('<p class="empty">No output.</p>')
    return (f'<details class="client"><summary>Client: {_e(ended)}</summary>'
            + "".join(blocks) + "</details>")


def _transcripts(result: RunResult) -> str:
    t = result.timeline
    if not t.attempts:
        return ""
    t0 = min(a.start_ns for a in t.attempts)
    blocks = []
    for a in sorted(t.attempts, key=lambda a: a.index):
        _, how = _CLOSES.get(a.closed_by, _CLOSES[None])
        start = (a.start_ns - t0) / 1e9
        span = "still open" if a.end_ns is None else (
            f"+{(a.end_ns - t0) / 1e9:.4f} s ({_seconds((a.end_ns - a.start_ns) / 1e9)})")
        notes = []
        if a.faults:
            notes.append(f"{len(a.faults)} fault(s)")
        codes = [str(c) for c in a.reply_codes if c >= 400]
        if codes:
            notes.append("replies " + ", ".join(codes))
        if a.of_kind("message"):
            notes.append("message stored")
        rows = []
        for event in a.events:
            rows.append(
                f'<tr class="k-{_e(event.kind)}"><td class="num">+{(event.t_ns - t0) / 1e9:.4f}'
                f'</td><td class="kind">{_e(_ARROWS.get(event.kind, event.kind))}</td>'
                f"<td><pre>{_e(event.text)}</pre></td></tr>"
            )
        if a.end_ns is not None:
            rows.append(f'<tr class="k-close"><td class="num">+{(a.end_ns - t0) / 1e9:.4f}</td>'
                        f'<td class="kind">close</td><td><pre>{_e(how)}</pre></td></tr>')
        extra = "".join(f"<span>{_e(n)}</span>" for n in notes)
        blocks.append(
            f'<details class="attempt" id="{_anchor(result)}-attempt-{a.index}">'
            f'<summary><b>#{a.index}</b><span>+{start:.4f} s to {_e(span)}</span>'
            f'<span class="closed"><i class="swatch" style="background:'
            f'{_CLOSES.get(a.closed_by, _CLOSES[None])[0]}"></i>{_e(how)}</span>{extra}</summary>'
            f'<table class="transcript"><tbody>{"".join(rows)}</tbody></table></details>'
        )
    return ("<section><h3>Attempts</h3>\n" + "\n".join(blocks) + "</section>")


_CSS = """
:root{--bg:#f6f7f9;--card:#fff;--ink:#1f2933;--muted:#65717e;--line:#e3e7ec;
--pass:#2e8a5a;--pass-bg:#e6f4ec;--fail:#c23b3b;--fail-bg:#fbeaea;--warn:#a86b00;
--warn-bg:#fdf3de;--window:rgba(47,123,209,.16);--accent:#2f7bd1;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg);font-size:14px;line-height:1.45}
@media (prefers-color-scheme:dark){:root{--bg:#15191e;--card:#1d232a;--ink:#dde3ea;
--muted:#97a3b0;--line:#2e3640;--pass-bg:#173325;--fail-bg:#3a1d1d;--warn-bg:#3a2f14}}
*{box-sizing:border-box}
body{margin:0}
main{max-width:1000px;margin:0 auto;padding:28px 20px 60px}
h1{font-size:22px;margin:0 0 8px;font-weight:650}
h1 .sub{color:var(--muted);font-weight:400}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);
margin:22px 0 8px;font-weight:600}
h4{font-size:12px;color:var(--muted);margin:10px 0 4px}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
pre{margin:0;white-space:pre-wrap;word-break:break-word;
font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;
border-bottom:1px solid var(--line);padding:6px 8px}
td{padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.summary{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:20px 22px;margin-bottom:22px;border-top:4px solid var(--pass)}
.summary.failed{border-top-color:var(--fail)}
.counts{margin:4px 0 10px;display:flex;gap:18px;align-items:baseline}
.big{font-size:20px;font-weight:650}
.fail-count{color:var(--fail)}
.pass-count{color:var(--pass)}
.of{color:var(--muted)}
.big.zero{color:var(--muted);font-weight:500}
.meta{display:flex;flex-wrap:wrap;gap:6px 26px;margin:0 0 14px}
.meta div{display:flex;gap:6px}
.meta dt{color:var(--muted)}
.meta dd{margin:0;font-variant-numeric:tabular-nums}
.index td{padding:5px 8px}
.index tr.failed td.why{color:var(--fail)}
.pill{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.05em;
padding:2px 8px;border-radius:999px;min-width:44px;text-align:center}
.pill.pass{background:var(--pass-bg);color:var(--pass)}
.pill.fail{background:var(--fail);color:#fff}
.scenario{background:var(--card);border:1px solid var(--line);border-radius:10px;
margin:0 0 16px;overflow:hidden}
.scenario.failed{border-left:4px solid var(--fail)}
.scenario>summary{cursor:pointer;padding:14px 18px;display:flex;gap:12px;
align-items:center;flex-wrap:wrap;list-style:none}
.scenario>summary::-webkit-details-marker{display:none}
.scenario>summary::before{content:"▸";color:var(--muted);width:10px}
.scenario[open]>summary::before{content:"▾"}
.scenario .name{font-weight:650;font-size:16px}
.facts{display:flex;flex-wrap:wrap;gap:4px 14px;color:var(--muted);font-size:12.5px;
margin-left:auto}
.body{padding:0 18px 18px;border-top:1px solid var(--line)}
.about{color:var(--muted);margin:12px 0 0}
.callout{background:var(--fail-bg);border-radius:8px;padding:10px 14px;margin-top:14px}
.callout h3{color:var(--fail);margin:0 0 4px}
.callout ul{margin:0;padding-left:18px}
.callout li{margin:3px 0}
.callout em{color:var(--muted);font-style:normal;font-size:12px}
.figure{overflow-x:auto}
svg.timeline{display:block;max-width:100%;height:auto}
svg .grid{stroke:var(--line);stroke-width:1}
svg .tick,svg .row-label,svg .axis-label,svg .wait-label{fill:var(--muted);font-size:11px;
font-family:inherit}
svg .row-label{font-weight:600;fill:var(--ink);font-size:12px}
svg .wait{stroke:var(--muted);stroke-dasharray:3 3;stroke-width:1}
svg .wait-end{stroke:var(--muted);stroke-width:1}
svg .window,.delay .window{fill:var(--window);stroke:rgba(47,123,209,.5);stroke-width:1}
svg .tick-cmd{stroke:rgba(255,255,255,.75);stroke-width:1}
svg .tick-reply{stroke:rgba(0,0,0,.22);stroke-width:1}
svg .tick-4xx{stroke:#8a4b00;stroke-width:2}
svg .tick-5xx{stroke:#9b1c1c;stroke-width:2}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:var(--muted);margin:6px 0 0}
.legend span{display:inline-flex;align-items:center;gap:5px}
.legend .hint{font-style:italic}
.swatch{display:inline-block;width:14px;height:9px;border-radius:2px}
.swatch.window{background:var(--window);border:1px solid rgba(47,123,209,.5)}
.glyph{font-style:normal;font-size:12px}
.glyph.tick4{color:#8a4b00;font-weight:700}
.policy{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 8px}
.policy dt{color:var(--muted)}
.policy dd{margin:0}
.delays td{vertical-align:middle}
.delays td.after{white-space:nowrap;color:var(--muted)}
.strong{font-weight:650}
.key{display:inline-flex;gap:6px;align-items:center}
.key .dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--ink)}
.key .fitmark{display:inline-block;width:2px;height:11px;background:#e08a1e}
svg.delay .track{stroke:var(--line);stroke-width:2}
svg.delay .dot{fill:var(--ink)}
svg.delay .fitmark{stroke:#e08a1e;stroke-width:2}
.note{color:var(--muted);font-size:12px;margin:6px 0 0}
.verdicts tr.fails td{background:var(--fail-bg)}
.verdicts tr.s-failed td{background:var(--warn-bg)}
.verdicts td.name{font-weight:600;white-space:nowrap}
.verdicts .level{display:block;color:var(--muted);font-size:12px;font-weight:400}
.verdicts .detail{margin:0}
.evidence{font-size:12px;margin-top:4px;color:var(--muted)}
.evidence span{display:inline-block;margin-right:14px;word-break:break-word}
.evidence b{font-weight:600}
.evidence summary{cursor:pointer;color:var(--accent)}
.evidence pre{margin:4px 0}
table.records{width:auto;margin:4px 0 2px;font-size:12px}
table.records th,table.records td{padding:2px 10px 2px 0;border-bottom:1px solid var(--line);
font-variant-numeric:tabular-nums;color:var(--ink)}
table.records th{color:var(--muted);font-weight:600}
.status{display:inline-block;font-size:11px;font-weight:650;padding:1px 7px;
border-radius:4px;background:var(--line);color:var(--muted);white-space:nowrap}
.status.passed{background:var(--pass-bg);color:var(--pass)}
.status.failed{background:var(--fail);color:#fff}
.status.failed.advisory,.status.inconclusive{background:var(--warn-bg);color:var(--warn)}
details.client,details.attempt{border:1px solid var(--line);border-radius:8px;
margin:8px 0;padding:0 12px}
details.client>summary,details.attempt>summary{cursor:pointer;padding:8px 0;display:flex;
gap:14px;align-items:center;flex-wrap:wrap}
details.client pre{background:var(--bg);padding:8px 10px;border-radius:6px;max-height:360px;
overflow:auto}
details.attempt>summary span{color:var(--muted);font-size:12.5px}
details.attempt .closed{display:inline-flex;align-items:center;gap:5px}
.transcript{table-layout:fixed}
.transcript td{padding:3px 8px;border-bottom:none}
.transcript td.num{width:84px}
.transcript .kind{color:var(--muted);width:72px;font:12px ui-monospace,monospace}
.transcript .k-command pre{font-weight:600}
.transcript .k-fault td{background:var(--fail-bg)}
.transcript .k-toxic td,.transcript .k-tls td{background:var(--warn-bg)}
.transcript .k-message td{background:var(--pass-bg)}
.transcript .k-close td,.transcript .k-accept td,.transcript .k-note td{color:var(--muted)}
.empty{color:var(--muted);font-style:italic}
"""
