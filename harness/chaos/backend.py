"""Backends: the same list of :class:`Toxic` on the embedded proxy or on a real Toxiproxy.

A real Toxiproxy knows nothing of attempts: its toxics apply to every connection, and
changes apply to live connections at once. :class:`ToxiproxyBackend` therefore switches
the toxics between attempts: when no attempt is open, it installs the toxics of the next
attempt. A client that reconnects faster than that switch (a few HTTP round trips) starts
its attempt under the previous attempt's toxics until the switch lands; see
``docs/chaos.md``.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

import toxiproxy
import toxiproxy.api
import toxiproxy.exceptions

from harness.attempts import AttemptsLike
from harness.chaos.errors import AlreadyExists, ChaosError, InvalidToxic, NotFound
from harness.chaos.proxy import ChaosProxy, join_address, split_address
from harness.chaos.toxic import Toxic, parse_attempts
from harness.timeline import Recorder, Timeline

ENV_URL = "TOXIPROXY_URL"


class ChaosBackend(Protocol):
    """What a run needs from a chaos proxy, whichever backend provides it."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    def start(self) -> ChaosBackend: ...
    def stop(self) -> None: ...
    def enable(self) -> None: ...
    def disable(self) -> None: ...
    def add_toxic(self, toxic: Toxic) -> Toxic: ...
    def update_toxic(self, name: str, attributes: Mapping[str, Any] | None = None,
                     toxicity: float | None = None) -> Toxic: ...
    def remove_toxic(self, name: str) -> None: ...


def chaos_backend(
    upstream: tuple[str, int],
    toxics: Iterable[Toxic] = (),
    *,
    recorder: Recorder | None = None,
    seed: int | None = None,
    down: AttemptsLike | None = None,
    toxiproxy_url: str | None = None,
) -> ChaosBackend:
    """The embedded proxy, or a real Toxiproxy when a URL is given or in TOXIPROXY_URL."""
    url = toxiproxy_url or os.environ.get(ENV_URL)
    if url:
        return ToxiproxyBackend(url, upstream, toxics, recorder=recorder, down=down)
    return ChaosProxy(upstream, toxics, recorder=recorder, seed=seed, down=down)


_CLIENT_LOCK = threading.Lock()


@contextmanager
def _client(url: str) -> Iterator[toxiproxy.Toxiproxy]:
    """toxiproxy-python keeps the server address in class attributes: set it under a lock
    for each use, and turn its exceptions into the harness's."""
    parts = urlsplit(url if "//" in url else f"http://{url}")
    with _CLIENT_LOCK:
        server = toxiproxy.Toxiproxy()
        server.update_api_consumer(parts.hostname or "127.0.0.1", parts.port or 8474)
        try:
            yield server
        except toxiproxy.exceptions.NotFound as error:
            raise NotFound(_message(error)) from None
        except toxiproxy.exceptions.ProxyExists as error:
            raise AlreadyExists(_message(error)) from None
        except toxiproxy.exceptions.InvalidToxic as error:
            raise InvalidToxic(_message(error)) from None
        except (KeyError, OSError, ValueError) as error:  # e.g. a 500 it does not map
            raise ChaosError(f"Toxiproxy at {url} failed: {error!r}") from None


def _message(error: Exception) -> str:
    raw = error.args[0] if error.args else b""
    try:
        return str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


class ToxiproxyBackend:
    """A proxy on a real Toxiproxy server (or anything speaking its API), with the
    harness's toxics switched per attempt as the recorder sees attempts open and close.
    """

    def __init__(
        self,
        url: str,
        upstream: tuple[str, int] | str,
        toxics: Iterable[Toxic] = (),
        *,
        name: str | None = None,
        listen: str = "127.0.0.1:0",
        recorder: Recorder | None = None,
        down: AttemptsLike | None = None,
    ) -> None:
        self.url = url
        self.down = None if down is None else parse_attempts(down, "down")
        self.upstream = upstream if isinstance(upstream, str) else join_address(*upstream)
        self.name = name or f"harness-{secrets.token_hex(4)}"
        self.listen = listen
        self.recorder = recorder or Recorder()
        self._toxics: dict[str, Toxic] = {t.name: t for t in toxics}
        self._installed: dict[str, Toxic] = {}
        self._attempt = 1
        self._lock = threading.RLock()
        self._installed_attempt = threading.Condition(self._lock)
        self._proxy: Any = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.switches: list[tuple[int, int]] = []  # (attempt, ns from close to installed)

    def __repr__(self) -> str:
        return f"<ToxiproxyBackend {self.name} at {self.url} -> {self.upstream}>"

    @property
    def host(self) -> str:
        return split_address(self._running().listen, what="listen")[0]

    @property
    def port(self) -> int:
        return split_address(self._running().listen, what="listen")[1]

    @property
    def toxics(self) -> list[Toxic]:
        return list(self._toxics.values())

    @property
    def timeline(self) -> Timeline:
        return self.recorder.timeline()

    def _running(self) -> Any:
        if self._proxy is None:
            raise ChaosError("the Toxiproxy backend is not started")
        return self._proxy

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> ToxiproxyBackend:
        if self._proxy is not None:
            return self
        with _client(self.url) as server:
            if not server.running():
                raise ChaosError(f"no Toxiproxy answers at {self.url}")
            stale = server.get_proxy(self.name)
            if stale is not None:
                stale.destroy()
            self._proxy = server.create(upstream=self.upstream, name=self.name,
                                        listen=self.listen, enabled=True)
        self._install(self._attempt)
        if self.down is not None or any(str(t.selector) != "all" for t in self._toxics.values()):
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name=f"toxiproxy-switch {self.name}")
            self._watcher.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            with _client(self.url):
                proxy.destroy()

    def __enter__(self) -> ToxiproxyBackend:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- control --------------------------------------------------------------------------

    def enable(self) -> None:
        with _client(self.url):
            self._running().enable()

    def disable(self) -> None:
        with _client(self.url):
            self._running().disable()

    def add_toxic(self, toxic: Toxic) -> Toxic:
        with self._lock:
            if toxic.name in self._toxics:
                raise AlreadyExists("toxic already exists")
            self._toxics[toxic.name] = toxic
            self._install(self._attempt)
        return toxic

    def update_toxic(self, name: str, attributes: Mapping[str, Any] | None = None,
                     toxicity: float | None = None) -> Toxic:
        """Toxiproxy's update in place (toxiproxy-python has none: plain HTTP here), so
        ``limit_data`` keeps its count on live connections."""
        with self._lock:
            if name not in self._toxics:
                raise NotFound("toxic not found")
            toxic = self._toxics[name] = self._toxics[name].updated(attributes, toxicity)
            if name in self._installed:
                body = {"attributes": dict(toxic.attributes), "toxicity": toxic.toxicity}
                self._http("POST", f"/proxies/{self.name}/toxics/{name}", body)
                self._installed[name] = toxic
            return toxic

    def remove_toxic(self, name: str) -> None:
        with self._lock:
            if name not in self._toxics:
                raise NotFound("toxic not found")
            del self._toxics[name]
            self._install(self._attempt)

    # -- per-attempt switching ------------------------------------------------------------

    def _install(self, attempt: int) -> None:
        """Make the server's toxics those of ``attempt``: remove, then add, by name."""
        with self._lock:
            wanted = {n: t for n, t in self._toxics.items() if attempt in t.selector}
            if self.down is not None and attempt in self.down:
                wanted.update({t.name: t for t in _DOWN})
            proxy = self._running()
            with _client(self.url):
                for name, toxic in list(self._installed.items()):
                    if wanted.get(name) != toxic:
                        proxy.destroy_toxic(name)
                        del self._installed[name]
                for name, toxic in wanted.items():
                    if name not in self._installed:
                        proxy.add_toxic(type=toxic.type, stream=toxic.stream, name=name,
                                        toxicity=toxic.toxicity,
                                        attributes=dict(toxic.attributes))
                        self._installed[name] = toxic
            self._attempt = attempt
            self._installed_attempt.notify_all()

    def wait_installed(self, attempt: int, timeout: float = 10.0) -> None:
        """Block until the toxics of ``attempt`` are on the server: a test that must not
        lose the switching race (see the module docstring) waits on this before
        connecting again."""
        with self._installed_attempt:
            if not self._installed_attempt.wait_for(lambda: self._attempt >= attempt, timeout):
                raise TimeoutError(f"toxics of attempt {attempt} not installed in {timeout}s")

    def _watch(self) -> None:
        """Whenever no attempt is open, install the toxics of the next one.

        The fake server sees an attempt end before the client does when a toxic acts
        after the server's close (``slow_close``, ``latency`` on the last reply), and
        removing such a toxic cuts its effect short; so the switch first waits for them.
        """
        seen = (0, 0)
        while not self._stopping.is_set():
            def moved(timeline: Timeline, seen: tuple[int, int] = seen) -> bool:
                return _counts(timeline) != seen or self._stopping.is_set()

            try:
                timeline = self.recorder.wait_for(moved, timeout=0.2)
            except TimeoutError:
                continue
            seen = _counts(timeline)
            started, open_ = seen
            if open_ or started + 1 == self._attempt:
                continue
            if self._stopping.wait(self.grace()):
                return
            started, open_ = _counts(self.recorder.timeline())
            attempt = started if open_ else started + 1  # a client that came back at once
            if attempt != self._attempt:
                self._install(attempt)
                ended = timeline.attempts[-1].end_ns
                if ended is not None:
                    self.switches.append((attempt, self.recorder.now_ns() - ended))

    def grace(self) -> float:
        """Seconds the installed toxics may still act after the server closed."""
        with self._lock:
            ms = 0
            for toxic in self._installed.values():
                if toxic.type == "latency":
                    ms += toxic.attributes["latency"] + toxic.attributes["jitter"]
                elif toxic.type == "slow_close":
                    ms += toxic.attributes["delay"]
            return ms / 1000

    def _http(self, method: str, path: str, body: object) -> None:
        parts = urlsplit(self.url if "//" in self.url else f"http://{self.url}")
        request = urllib.request.Request(
            f"http://{parts.netloc}{path}", data=json.dumps(body).encode(), method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as error:
            message = _message(Exception(error.read()))
            error.close()
            raise {400: InvalidToxic, 404: NotFound, 409: AlreadyExists}.get(
                error.code, ChaosError)(message) from None


# "Down" for an attempt on Toxiproxy: the first byte either way resets the connection.
# Toxiproxy sets SO_LINGER 0 when such a toxic is present at connection start, so the
# client sees an RST, as with the embedded proxy's reset at accept.
_DOWN = (
    Toxic(type="reset_peer", name="harness_down_downstream", attributes={"timeout": 0}),
    Toxic(type="reset_peer", name="harness_down_upstream", stream="upstream",
          attributes={"timeout": 0}),
)


def _counts(timeline: Timeline) -> tuple[int, int]:
    """Attempts started, attempts still open."""
    attempts = timeline.attempts
    return len(attempts), sum(1 for a in attempts if a.end_ns is None)
