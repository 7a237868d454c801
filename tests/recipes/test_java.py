"""The Jakarta Mail recipe (docs/recipes/java-jakarta-mail.md): the example passes the
representative scenarios; Jakarta Mail 2.0's defaults are shown sending through a
certificate for another host and in clear after a stripped STARTTLS, and its RSET after a
421 is shown caught.

Debian's libjakarta-mail-java and a JDK (scripts/test.sh installs them when run as root);
the example is compiled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recipes.conftest import (
    LOGIN_AND_WORKLOAD,
    PLACEHOLDERS,
    REPRESENTATIVE,
    check_login_and_workload,
    failures,
    run_recipe,
    status,
)

pytestmark = pytest.mark.slow


def test_jakarta_mail_recipe_passes(tmp_path: Path, java_command: list[str]) -> None:
    command = [*java_command, *PLACEHOLDERS, "--timeout", "2"]
    results = run_recipe(tmp_path, [*REPRESENTATIVE, *LOGIN_AND_WORKLOAD,
                                    "cert-wrong-host-implicit", "dot-554",
                                    "rcpt-550-partial", "close-after-250", "store-then-drop"],
                         command, timeout_s=60)
    assert failures(results) == {}
    check_login_and_workload(results)
    assert len(results["banner-421-throttle"]["attempts"]) == 6  # five faulted, then one more
    assert results["dot-554"]["client"]["exit_code"] == 2  # permanent: not retried
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1


def test_jakarta_mail_defaults_trust_any_host_and_send_in_clear(
        tmp_path: Path, java_command: list[str]) -> None:
    """Transport.send with STARTTLS enabled and nothing else: no identity check (2.0's
    default), and an opportunistic upgrade that a stripped STARTTLS turns into cleartext."""
    command = [*java_command, "--defaults", *PLACEHOLDERS]
    results = run_recipe(tmp_path, ["cert-wrong-host-starttls", "starttls-stripped"], command,
                         timeout_s=60)
    wrong_host = results["cert-wrong-host-starttls"]
    assert len(wrong_host["messages"]) == 1 and not wrong_host["passed"]
    assert status(results["starttls-stripped"], "no-plaintext-fallback") == "failed"


def test_jakarta_mail_sends_rset_after_421(tmp_path: Path, java_command: list[str]) -> None:
    """A 421 to MAIL makes Jakarta Mail reset the transaction (RSET) on the connection the
    server is closing: the harness names the command that followed the 421."""
    command = [*java_command, *PLACEHOLDERS, "--timeout", "2"]
    result = run_recipe(tmp_path, ["mail-421"], command, timeout_s=60)["mail-421"]
    assert status(result, "closes-after-421") == "failed"
    assert len(result["messages"]) == 1  # delivered in the end, on a new connection
