"""Per-retry spacing: start-to-start and failure-to-start, with the failure the server caused."""

from __future__ import annotations

import pytest

from harness.verdicts.delays import failure_ns, retries
from tests.verdicts.script import Script, retry_series


def test_both_spacings_from_a_421_series() -> None:
    found = retries(retry_series([0.1, 0.2]))
    assert [(r.attempt, r.n) for r in found] == [(2, 1), (3, 2)]
    assert found[0].failure_to_start_s == pytest.approx(0.1)
    assert found[0].start_to_start_s == pytest.approx(0.1005)
    assert found[1].failure_to_start_s == pytest.approx(0.2)
    assert found[0].failed_by == "fault reply at banner"
    assert found[0].lower_s == pytest.approx(0.1005)


def test_a_reply_without_a_fault_event_is_the_failure() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.reply(a, "451 4.3.0 later", 0.01).close(a, "server-close", 0.02)
    s.attempt(0.5)
    t_ns, how = failure_ns(s.timeline().attempt(1)) or (0, "")
    assert (t_ns, how) == (10_000_000, "reply 451")


def test_a_stall_fails_when_the_client_gives_up() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.fault(a, "hang", "banner", "stall", 0.001).close(a, "client-close", 2.0)
    s.attempt(2.3)
    (r,) = retries(s.timeline())
    assert r.failure_to_start_s == pytest.approx(0.3)
    assert r.failed_by == "close (client-close)"


def test_a_pause_alone_is_not_a_failure() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.fault(a, "delay", "banner", "pause", 0.001).command(a, "QUIT", 0.5)
    s.reply(a, "221 bye").close(a, "client-quit", 0.6)
    s.attempt(1.0)
    assert retries(s.timeline()) == []


def test_a_delivery_starts_a_new_series() -> None:
    s = Script()
    s.banner_421(0.0)
    s.delivery(0.1)
    s.banner_421(1.0)
    s.banner_421(1.2)
    found = retries(s.timeline())
    assert [(r.attempt, r.n) for r in found] == [(2, 1), (4, 1)]


def test_store_then_drop_is_a_failure_even_though_a_message_was_stored() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.command(a, "DATA", 0.001).reply(a, "354 go on").body(a, 0.002)
    s.fault(a, "store-then-drop", "dot", "storeanddisconnect", 0.003).store(a)
    s.close(a, "server-close", 0.004)
    s.delivery(0.5)
    (r,) = retries(s.timeline())
    assert r.failure_to_start_s == pytest.approx(0.497)


def test_a_failed_handshake_and_a_proxy_cut_are_failures() -> None:
    s = Script()
    a = s.attempt(0.0)
    s.tls(a, 0.002, event="handshake", ok=False, error="unknown ca").close(a, "tls-failed", 0.003)
    b = s.attempt(0.2)
    s.close(b, "proxy-reset", 0.25)
    s.attempt(0.5)
    found = retries(s.timeline())
    assert [r.failed_by for r in found] == ["TLS handshake failed", "close (proxy-reset)"]
    assert found[1].failure_to_start_s == pytest.approx(0.25)
