"""``connection-limit``: 421 to a new connection while N accepted before it are open."""

from __future__ import annotations

from dataclasses import dataclass

from harness.attempts import Phase
from harness.replies import S421_TOO_MANY_CONNECTIONS
from harness.smtp.faults.base import Action, Fault, FaultContext, Send
from harness.smtp.faults.shape import setting


@dataclass(frozen=True, kw_only=True)
class ConnectionLimit(Fault):
    """Greet with ``421 4.7.0`` and close when ``max_connections`` accepted earlier are
    still open: the newest connection is turned away, as a server's accept counter does."""

    max_connections: int = setting(
        "positive-count", "Connections open at once above which a new one gets 421.")
    at: Phase = "banner"

    kind = "connection-limit"
    rfc = "RFC 5321 §3.8, §4.5.4.1"
    phases = ("banner",)

    def act(self, ctx: FaultContext) -> Action | None:
        if ctx.server is not None and ctx.server.open_before(ctx.attempt) >= self.max_connections:
            return Send(S421_TOO_MANY_CONNECTIONS, then_close=True)
        return None

    def describe(self) -> str:
        return f"connection-limit {self.max_connections}"
