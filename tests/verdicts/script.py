"""Timelines written by hand through the real Recorder, on a clock the test moves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.timeline import CloseReason, Recorder, Timeline


class Script:
    """Records events at exact times: ``Script().attempt(0.0)`` opens attempt 1 at t=0 s."""

    def __init__(self) -> None:
        self.now_ns = 0
        self.recorder = Recorder(lambda: self.now_ns)

    def at(self, t_s: float | None) -> Script:
        if t_s is not None:
            self.now_ns = round(t_s * 1e9)
        return self

    def attempt(self, t_s: float | None = None) -> int:
        return self.at(t_s).recorder.open_attempt(("127.0.0.1", 40000))

    def command(self, attempt: int, text: str, t_s: float | None = None, **data: Any) -> Script:
        self.at(t_s).recorder.record(attempt, "command", text, **data)
        return self

    def reply(self, attempt: int, line: str, t_s: float | None = None) -> Script:
        self.at(t_s).recorder.record(attempt, "reply", line, code=int(line[:3]))
        return self

    def fault(self, attempt: int, fault: str, phase: str, action: str,
              t_s: float | None = None, text: str = "", **data: Any) -> Script:
        self.at(t_s).recorder.record(attempt, "fault", text or fault, phase=phase, fault=fault,
                                     action=action, **data)
        return self

    def tls(self, attempt: int, t_s: float | None = None, text: str = "", **data: Any) -> Script:
        self.at(t_s).recorder.record(attempt, "tls", text, **data)
        return self

    def body(self, attempt: int, t_s: float | None = None) -> Script:
        self.at(t_s).recorder.record(attempt, "data", "100 bytes of content", bytes=100,
                                     complete=True)
        return self

    def store(self, attempt: int, message_id: str | None = "<m1@test>",
              t_s: float | None = None, raw: bytes = b"Subject: x\r\n\r\nhello\r\n") -> Script:
        self.at(t_s).recorder.store_message(attempt, mail_from="a@example.org",
                                            rcpt_tos=("b@example.org",),
                                            message_id=message_id, raw=raw)
        return self

    def close(self, attempt: int, reason: CloseReason, t_s: float | None = None) -> Script:
        self.at(t_s).recorder.close_attempt(attempt, reason)
        return self

    # -- whole attempts ------------------------------------------------------------------

    def banner_421(self, t_s: float) -> int:
        """An attempt refused with 421 at the banner (a fault), closed 1 ms later."""
        a = self.attempt(t_s)
        self.fault(a, "reply", "banner", "send", t_s + 0.0005)
        self.reply(a, "421 4.7.0 Try again later", t_s + 0.0005)
        self.close(a, "server-close", t_s + 0.001)
        return a

    def delivery(self, t_s: float, message_id: str | None = "<m1@test>") -> int:
        """A clean attempt: greeting, envelope, message stored and acknowledged, QUIT."""
        a = self.attempt(t_s)
        self.reply(a, "220 ready", t_s + 0.0001)
        self.command(a, "EHLO client", t_s + 0.0002).reply(a, "250 ok", t_s + 0.0003)
        self.command(a, "MAIL FROM:<a@example.org>", t_s + 0.0004).reply(a, "250 ok")
        self.command(a, "RCPT TO:<b@example.org>", t_s + 0.0005).reply(a, "250 ok")
        self.command(a, "DATA", t_s + 0.0006).reply(a, "354 go on")
        self.body(a, t_s + 0.0007).store(a, message_id, t_s + 0.0008)
        self.reply(a, "250 2.0.0 OK", t_s + 0.0009)
        self.command(a, "QUIT", t_s + 0.001).reply(a, "221 bye")
        self.close(a, "client-quit", t_s + 0.0011)
        return a

    def timeline(self) -> Timeline:
        return self.recorder.timeline()


def retry_series(delays: Sequence[float], *, deliver: bool = True) -> Timeline:
    """421 at the banner, then a retry ``delays[i]`` after each failure; a delivery last."""
    script = Script()
    t = 0.0
    script.banner_421(t)
    for i, delay in enumerate(delays):
        t = t + 0.0005 + delay  # the failure is stamped 0.5 ms after the accept
        if i == len(delays) - 1 and deliver:
            script.delivery(t)
        else:
            script.banner_421(t)
    return script.timeline()
