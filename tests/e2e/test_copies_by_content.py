"""Copies by content, end to end: a client that rebuilds its message with a new
Message-ID on each attempt is caught by ``store-then-drop``; a client that resends the
same message (its Message-ID kept) is not. Real clients, real sockets, the catalogue's own
scenario (RFC 5322 §3.6.4: a retransmission keeps its Message-ID)."""

from __future__ import annotations

import sys

from harness.clients import CommandClient
from harness.model import load_scenario
from harness.outcome import RunResult
from harness.run import run_scenario


def store_then_drop(client: str) -> RunResult:
    command = [sys.executable, "-m", f"tests.clients.{client}", "--host", "{host}", "--port",
               "{port}"]
    return run_scenario(load_scenario("store-then-drop"), CommandClient(command), timeout_s=30)


def test_a_new_message_id_on_every_attempt_is_caught_by_store_then_drop() -> None:
    result = store_then_drop("new_message_id")
    ids = [m.message_id for m in result.timeline.messages]
    assert len(ids) == 2 and len(set(ids)) == 2, ids  # stored, dropped, sent again as new
    assert result.outcome == "failed", result.verdict
    delivered = result.verdict.result("delivered")
    assert delivered.status == "failed" and "new Message-ID" in delivered.detail
    risk = result.verdict.result("duplicate-risk")
    assert risk.status == "failed" and "2 copies" in risk.detail, risk
    assert list(risk.evidence["copies"].values()) == [[1, 2]]


def test_a_client_keeping_its_message_id_passes_store_then_drop() -> None:
    """Control: the same retry loop, the same message each time."""
    result = store_then_drop("smtplib_backoff")
    assert result.passed, result.verdict
    assert len(result.timeline.messages) == 2
    assert len({m.message_id for m in result.timeline.messages}) == 1
