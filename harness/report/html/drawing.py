"""The report's pictures: the attempts of a scenario on a time axis, and each retry's
delay against its declared window and fitted envelope. SVG only, built with
:func:`~harness.report.html.markup.el`, so every text in them is escaped."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.outcome import RunResult
from harness.report.html.markup import Markup, el, fragment
from harness.timeline import Attempt, Event
from harness.verdicts import BackoffPolicy
from harness.verdicts.backoff import support_s
from harness.verdicts.delays import Retry, failure_ns, retries

#: Markers of one kind drawn per attempt; the transcript below the picture has them all.
MAX_MARKERS = 40

CLOSES: dict[str | None, tuple[str, str]] = {
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
"""How an attempt ended: its bar's colour and the words for it."""

ARROWS = {"command": "C:", "reply": "S:"}
_FAULT, _TOXIC, _TLS_OK, _TLS_BAD, _MESSAGE = "#d64545", "#e08a1e", "#2f7bd1", "#8b66c9", "#2e9960"
_W, _LEFT, _RIGHT, _TOP, _ROW, _BAR = 940, 64, 24, 14, 30, 12


def closed(attempt: Attempt) -> tuple[str, str]:
    return CLOSES.get(attempt.closed_by, CLOSES[None])


def seconds(value: float) -> str:
    """A duration as a person reads it: ``412 µs``, ``38.2 ms``, ``1.204 s``."""
    magnitude = abs(value)
    if magnitude < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if magnitude < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.3f} s"


@dataclass(frozen=True)
class Axis:
    """Seconds from the first accept mapped onto the picture's x coordinates."""

    t0_ns: int
    end_s: float
    step_s: float

    @classmethod
    def of(cls, result: RunResult) -> Axis:
        t = result.timeline
        t0 = min((a.start_ns for a in t.attempts), default=t.origin_ns)
        stamps = [a.end_ns for a in t.attempts if a.end_ns is not None]
        stamps += [e.t_ns for a in t.attempts for e in a.events]
        last = max(stamps, default=t0)
        if any(a.end_ns is None for a in t.attempts):
            last = max(last, t.origin_ns + int(result.duration_s * 1e9))
        span = max((last - t0) / 1e9, 1e-3)
        finite = [w for w in windows(result).values() if math.isfinite(w[1])]
        span = max([span] + [min(high, 3 * span) for _, high in finite])
        step = _nice_step(span / 6)
        return cls(t0, math.ceil(span / step * 1.0001) * step, step)

    def s(self, t_ns: int) -> float:
        return (t_ns - self.t0_ns) / 1e9

    def x(self, at_s: float) -> float:
        inner = _W - _LEFT - _RIGHT
        return _LEFT + max(0.0, min(1.0, at_s / self.end_s)) * inner

    def ticks(self) -> list[float]:
        count = round(self.end_s / self.step_s)
        return [i * self.step_s for i in range(count + 1)]


def declared_policy(result: RunResult) -> BackoffPolicy | None:
    policy = result.scenario.expectations().backoff
    return policy if isinstance(policy, BackoffPolicy) else None


def windows(result: RunResult) -> dict[int, tuple[float, float]]:
    """Per retried attempt: the declared policy's window, as seconds since the first
    connection (empty when the scenario declares no policy)."""
    policy = declared_policy(result)
    if policy is None:
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


def timeline_svg(result: RunResult, uid: str) -> Markup:
    """Every attempt as a bar from accept to close, with its marks and the waits between
    (in a folded run, the attempts its reports list: ``Timeline.listed``)."""
    attempts = sorted(result.timeline.listed(), key=lambda a: a.index)
    axis = Axis.of(result)
    height = _TOP + len(attempts) * _ROW + 34
    bottom = _TOP + len(attempts) * _ROW
    parts: list[Markup] = []
    for tick in axis.ticks():
        x = axis.x(tick)
        parts.append(el("line", class_="grid", x1=x, y1=_TOP - 4, x2=x, y2=bottom))
        parts.append(el("text", _tick_label(tick, axis.step_s), class_="tick", x=x,
                        y=bottom + 16, text_anchor="middle"))
    parts.append(el("text", "seconds since the first connection", class_="axis-label",
                    x=_W - _RIGHT, y=bottom + 30, text_anchor="end"))
    spans = windows(result)
    spacing = {r.attempt: r for r in retries(result.timeline)}
    by_index = {a.index: a for a in attempts}
    for row, attempt in enumerate(attempts):
        y = _TOP + row * _ROW + (_ROW - _BAR) / 2
        parts.append(el("text", f"#{attempt.index}", class_="row-label", x=_LEFT - 10,
                        y=y + _BAR - 2, text_anchor="end"))
        retry = spacing.get(attempt.index)
        before = by_index.get(attempt.index - 1)
        if retry is not None and before is not None:
            parts += _gap(axis, retry, before, attempt, y, spans.get(attempt.index))
        parts += _bar(axis, attempt, y, uid)
    return el("svg", parts, class_="timeline", viewBox=f"0 0 {_W} {height}", width=_W,
              height=height, role="img",
              aria_label=f"attempts of {result.scenario.name} over time")


def _gap(axis: Axis, retry: Retry, before: Attempt, attempt: Attempt, y: float,
         window: tuple[float, float] | None) -> list[Markup]:
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
        tooltip = (f"declared window for retry {retry.n}: {seconds(low)} to"
                   f" {seconds(high)} after attempt {before.index} failed")
        out.append(el("rect", el("title", tooltip), class_="window", x=x1, y=y - 4,
                      width=max(x2 - x1, 2), height=_BAR + 8))
    xf, xs = axis.x(f_s), axis.x(start_s)
    out.append(el("line", class_="wait", x1=xf, y1=mid, x2=xs, y2=mid))
    out.append(el("line", class_="wait-end", x1=xf, y1=y, x2=xf, y2=y + _BAR))
    tooltip = (f"retry {retry.n}: attempt {attempt.index} connected"
               f" {seconds(retry.failure_to_start_s)} after attempt {before.index} failed"
               f" ({retry.failed_by}); {seconds(retry.start_to_start_s)} start to start")
    if xs - xf > 96:  # inside the gap, clear of the marks at the bar's start
        x, anchor, ty = xf + 5, "start", y - 1
    elif xf - _LEFT > 96:  # before the failure
        x, anchor, ty = xf - 5, "end", y + _BAR - 2
    else:  # after the bar
        x, anchor, ty = xs + max(_bar_width(axis, attempt), 3.0) + 8, "start", y + _BAR - 2
    out.append(el("text", f"waited {seconds(retry.failure_to_start_s)}", el("title", tooltip),
                  class_="wait-label", x=x, y=ty, text_anchor=anchor))
    return out


def _bar_width(axis: Axis, attempt: Attempt) -> float:
    end = axis.end_s if attempt.end_ns is None else axis.s(attempt.end_ns)
    return axis.x(end) - axis.x(axis.s(attempt.start_ns))


def _bar(axis: Axis, attempt: Attempt, y: float, uid: str) -> list[Markup]:
    colour, how = closed(attempt)
    x1 = axis.x(axis.s(attempt.start_ns))
    open_ended = attempt.end_ns is None
    x2 = axis.x(axis.end_s) if open_ended else axis.x(axis.s(attempt.end_ns or 0))
    end_text = "still open" if open_ended else f"+{axis.s(attempt.end_ns or 0):.4f} s"
    lines = [f"attempt #{attempt.index}: +{axis.s(attempt.start_ns):.4f} s to {end_text}",
             f"closed: {how}"]
    shown = [e for e in attempt.events if e.kind in ("command", "reply")]
    lines += [f"{ARROWS[e.kind]} {e.text.splitlines()[0] if e.text else ''}" for e in shown[:12]]
    if len(shown) > 12:
        lines.append(f"... {len(shown) - 12} more in the transcript below")
    gradient = f"{uid}-open-{attempt.index}"
    out = []
    if open_ended:
        out.append(el("defs", el(
            "linearGradient",
            el("stop", offset="0", stop_color=colour), el("stop", offset="0.7", stop_color=colour),
            el("stop", offset="1", stop_color=colour, stop_opacity="0"), id=gradient)))
    out.append(el("rect", el("title", "\n".join(lines)), class_="bar", x=x1, y=y,
                  width=max(x2 - x1, 3.0), height=_BAR, rx=3,
                  fill=f"url(#{gradient})" if open_ended else colour))
    out += _ticks(axis, attempt, y)
    out += _markers(axis, attempt, y)
    return out


def _ticks(axis: Axis, attempt: Attempt, y: float) -> list[Markup]:
    """Thin marks in the bar: each command, and each 4yz/5yz reply in its own colour."""
    out = []
    for event in _limited(e for e in attempt.events if e.kind in ("command", "reply")):
        x = axis.x(axis.s(event.t_ns))
        code = int(event.data.get("code", 0)) if event.kind == "reply" else 0
        kind = "tick-cmd" if event.kind == "command" else (
            "tick-5xx" if code >= 500 else "tick-4xx" if code >= 400 else "tick-reply")
        out.append(el("line", el("title", _event_text(axis, event)), class_=kind, x1=x,
                      y1=y + 2, x2=x, y2=y + _BAR - 2))
    return out


def _markers(axis: Axis, attempt: Attempt, y: float) -> list[Markup]:
    out = []
    for event in _limited(attempt.of_kind("fault")):
        x, top = axis.x(axis.s(event.t_ns)), y - 2
        out.append(el("path", el("title", _event_text(axis, event)), class_="m-fault",
                      d=f"M{x - 5:.1f},{top - 7:.1f} L{x + 5:.1f},{top - 7:.1f}"
                        f" L{x:.1f},{top:.1f} Z", fill=_FAULT))
    for event in _limited(attempt.of_kind("toxic")):
        x, low = axis.x(axis.s(event.t_ns)), y + _BAR + 2
        out.append(el("path", el("title", _event_text(axis, event)), class_="m-toxic",
                      d=f"M{x:.1f},{low:.1f} L{x + 4:.1f},{low + 4:.1f}"
                        f" L{x:.1f},{low + 8:.1f} L{x - 4:.1f},{low + 4:.1f} Z", fill=_TOXIC))
    for event in _limited(_handshakes(attempt)):
        ok = bool(event.data.get("ok"))
        out.append(el("circle", el("title", _event_text(axis, event)), class_="m-tls",
                      cx=axis.x(axis.s(event.t_ns)), cy=y + _BAR / 2, r=4.5,
                      fill=_TLS_OK if ok else "#fff", stroke=_TLS_OK if ok else _TLS_BAD,
                      stroke_width=2))
    for event in _limited(attempt.of_kind("message")):
        x = axis.x(axis.s(event.t_ns))
        out.append(el("rect", el("title", "message stored: " + _event_text(axis, event)),
                      class_="m-message", x=x - 4.5, y=y + _BAR / 2 - 4.5, width=9, height=9,
                      rx=1.5, fill="#fff", stroke=_MESSAGE, stroke_width=2.5))
    return out


def _handshakes(attempt: Attempt) -> list[Event]:
    return [e for e in attempt.of_kind("tls") if e.data.get("event") == "handshake"]


def _limited(events: Iterable[Event]) -> list[Event]:
    return list(events)[:MAX_MARKERS]


def _event_text(axis: Axis, event: Event) -> str:
    return f"+{axis.s(event.t_ns):.4f} s {event.kind}: {event.text}"


def legend(attempts: Sequence[Attempt], with_windows: bool) -> Markup:
    """What the picture's colours and marks mean, for the ones it has."""

    def item(glyph: Markup, text: str) -> Markup:
        return el("span", glyph, text)

    def mark(character: str, colour: str) -> Markup:
        return el("i", character, class_="glyph", style=f"color:{colour}")

    items = [item(el("i", class_="swatch", style=f"background:{closed(a)[0]}"), closed(a)[1])
             for a in {a.closed_by: a for a in attempts}.values()]
    kinds = {e.kind for a in attempts for e in a.events}
    handshakes = [e for a in attempts for e in _handshakes(a)]
    if "fault" in kinds:
        items.append(item(mark("▼", _FAULT), "fault fired"))
    if "toxic" in kinds:
        items.append(item(mark("◆", _TOXIC), "toxic"))
    if any(e.data.get("ok") for e in handshakes):
        items.append(item(mark("●", _TLS_OK), "TLS handshake"))
    if any(not e.data.get("ok") for e in handshakes):
        items.append(item(mark("○", _TLS_BAD), "TLS failed"))
    if "message" in kinds:
        items.append(item(mark("▣", _MESSAGE), "message stored"))
    if any(e.kind == "reply" and int(e.data.get("code", 0)) >= 400
           for a in attempts for e in a.events):
        items.append(item(el("i", "|", class_="glyph tick4"), "4yz/5yz reply"))
    if with_windows:
        items.append(item(el("i", class_="swatch window"), "declared retry window"))
    items.append(el("span", "hover a mark for its text; transcripts below", class_="hint"))
    return el("p", items, class_="legend")


def fitted_envelope(result: RunResult, n: int) -> float | None:
    fitted = result.verdict.fitted
    if fitted is None:
        return None
    value = fitted.initial_s * (fitted.factor or 1.0) ** (n - 1)
    return value if fitted.cap_s is None else min(fitted.cap_s, value)


def delay_scale(result: RunResult, found: Sequence[Retry]) -> float:
    """The longest delay any chart of the scenario shows, so that they share one scale."""
    declared = declared_policy(result)
    values = [r.failure_to_start_s for r in found]
    previous = None
    for r in found:
        if declared is not None:
            values.append(support_s(declared, r.n, previous)[1])
        if (fit := fitted_envelope(result, r.n)) is not None:
            values.append(fit)
        previous = r.failure_to_start_s
    return max([v for v in values if math.isfinite(v)] + [1e-3]) * 1.1


def window_text(window: tuple[float, float] | None) -> str:
    if window is None:
        return "none declared"
    low, high = window
    return seconds(low) if low == high else f"{seconds(low)} to {seconds(high)}"


def delay_chart(r: Retry, window: tuple[float, float] | None, fit: float | None,
                scale: float) -> Markup:
    """One retry's delay as a dot on a track, over its window and fitted envelope."""
    width, height = 150, 16

    def x(value: float) -> float:
        return 2 + min(1.0, max(0.0, value / scale)) * (width - 4)

    parts = [el("line", class_="track", x1=2, y1=height / 2, x2=width - 2, y2=height / 2)]
    if window is not None:
        parts.append(el("rect", el("title", window_text(window)), class_="window",
                        x=x(window[0]), y=2, width=max(x(window[1]) - x(window[0]), 2),
                        height=height - 4))
    if fit is not None:
        parts.append(el("line", el("title", f"fitted envelope {seconds(fit)}"),
                        class_="fitmark", x1=x(fit), y1=1, x2=x(fit), y2=height - 1))
    parts.append(el("circle", el("title", f"waited {seconds(r.failure_to_start_s)}"),
                    class_="dot", cx=x(r.failure_to_start_s), cy=height / 2, r=4))
    return el("svg", fragment(parts), class_="delay", viewBox=f"0 0 {width} {height}",
              width=width, height=height, role="img", aria_label=f"retry {r.n}")
