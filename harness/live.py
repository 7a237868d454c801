"""``harness serve --live``: a page on loopback where the attempts appear on a time axis
as they happen, with the faults that fired, and the verdict once it is decided.

A small HTTP server (standard library, one thread per request) serves the page and
``/state.json?seen=N``, what the run's recorder holds now. The request waits (up to
:data:`WAIT_S`) until something happened after the ``N`` events the page has already
drawn, so the page is updated as attempts open and close, messages are stored, and the
verdict is decided, without polling a quiet run. Only loopback addresses are served, and
the page loads nothing else. :class:`LiveServe` ties a page to ``harness serve``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qs, urlsplit

from harness.errors import ClientError
from harness.report.html.drawing import CLOSES
from harness.report.html.markup import Markup, el
from harness.timeline import Recorder

if TYPE_CHECKING:
    from harness.model import Scenario
    from harness.outcome import RunResult
    from harness.run import Run

LOOPBACK = ("127.0.0.1", "::1", "localhost")
WAIT_S = 1.0
"""The longest a request for the state waits for something new (faults and replies show
up within this; connections, closes, messages and the verdict at once)."""


class LiveView:
    """Serves the live page of one run until stopped.

    The page draws what ``recorder`` holds; :meth:`decided` adds the verdict (a JSON
    report record). ``opened`` is set when a page first asked for the state.
    """

    def __init__(self, name: str, about: str, recorder: Recorder, *,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK:
            raise ClientError(f"the live page is served on loopback only (127.0.0.1, ::1,"
                              f" localhost), not {host}")
        self.name, self.about, self.recorder = name, about, recorder
        self.opened = threading.Event()
        self._verdict: dict[str, Any] | None = None
        self._news = threading.Condition()
        self._served_verdict = threading.Event()
        self._page = _page(name, about).encode()
        view = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/":
                    self._send(view._page, "text/html; charset=utf-8")
                elif url.path == "/state.json":
                    seen = parse_qs(url.query).get("seen", ["-1"])[0]
                    view.opened.set()
                    state = view.state(after=int(seen) if seen.lstrip("-").isdigit() else -1)
                    self._send(json.dumps(state).encode(), "application/json")
                    if state["verdict"] is not None:
                        view._served_verdict.set()
                else:
                    self.send_error(404)

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the harness's own output is the console report

        server = _IPv6Server if ":" in host else ThreadingHTTPServer
        try:
            self._server = server((host, port), Handler)
        except OSError as error:
            raise ClientError(f"the live page cannot listen on {host} port {port}:"
                              f" {error.strerror or error}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-view",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = str(self._server.server_address[0]), int(self._server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def state(self, after: int = -1) -> dict[str, Any]:
        """What the page draws: the attempts and messages so far, the verdict, and
        ``events``, the count to send back as ``after``; waits up to :data:`WAIT_S` while
        nothing happened after ``after`` events and the verdict is not known."""
        deadline = time.monotonic() + WAIT_S
        while (self.recorder.progress().events <= after and self._verdict is None
               and (left := deadline - time.monotonic()) > 0):
            with contextlib.suppress(TimeoutError):
                self.recorder.wait_progress(lambda p: p.events > after, min(left, 0.1))
        events = self.recorder.progress().events
        timeline = self.recorder.timeline()
        data = timeline.to_dict()
        starts = [a["start_s"] for a in data["attempts"]]
        now_s = (time.monotonic_ns() - timeline.origin_ns) / 1e9
        return {"scenario": self.name, "about": self.about, "events": events,
                "now_s": round(now_s, 3), "first_s": min(starts, default=now_s),
                "attempts": data["attempts"], "messages": data["messages"],
                "closes": {reason or "": list(look) for reason, look in CLOSES.items()},
                "verdict": self._verdict}

    def watch(self, recorder: Recorder) -> None:
        """Follow ``recorder`` from now on (a run that started after the page was up)."""
        self.recorder = recorder

    def decided(self, record: Mapping[str, Any], linger_s: float = 2.0) -> None:
        """Show the verdict; wait (up to ``linger_s``) until a page has fetched it."""
        self._verdict = dict(record)
        if self.opened.is_set():
            self._served_verdict.wait(linger_s)

    def __enter__(self) -> LiveView:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class LiveServe:
    """``harness serve --live``: the page is up (and its address printed to ``out``)
    before the run starts, follows the run from its ``on_start``, and shows the verdict
    from its ``on_result``."""

    def __init__(self, scenario: Scenario, out: TextIO, port: int = 0) -> None:
        self.view = LiveView(scenario.name, scenario.about, Recorder(), port=port)
        self.out = out

    def __enter__(self) -> LiveServe:
        self.view.__enter__()
        print(f"live page: {self.view.url}", file=self.out, flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.view.__exit__(*exc)

    def on_start(self, run: Run) -> None:
        self.view.watch(run.recorder)

    def on_result(self, result: RunResult) -> None:
        self.view.decided(result.to_dict())


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _page(name: str, about: str) -> str:
    script = resources.files("harness.report.html").joinpath("live.js").read_text(
        encoding="utf-8")
    style = resources.files("harness.report.html").joinpath("report.css").read_text(
        encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = (f"default-src 'none'; connect-src 'self'; style-src 'unsafe-inline';"
              f" script-src 'sha256-{digest}'")
    head = el("head", el("meta", charset="utf-8"),
              el("meta", http_equiv="Content-Security-Policy", content=policy),
              el("title", f"live: {name}"), el("style", Markup(style)))
    body = el("body", el("main", el(
        "header",
        el("h1", "smtp-fault-harness ", el("span", "live", class_="sub")),
        el("p", el("span", name, class_="name"), " ", el("span", about, class_="about")),
        el("p", "waiting for the first connection", class_="live-status", id="status"),
        class_="summary"),
        el("section", el("div", class_="figure", id="figure"), class_="scenario live"),
        el("section", el("h3", "Verdict"), el("div", "not decided yet", id="verdict"),
           class_="scenario live"),
        el("section", el("h3", "What happened"), el("ol", id="log", class_="live-log"),
           class_="scenario live")),
        el("script", Markup(script)))
    return "<!DOCTYPE html>\n" + el("html", head, body, lang="en") + "\n"
