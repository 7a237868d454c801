"""The Go recipe (docs/recipes/go-net-smtp.md): the example passes the representative
scenarios; smtp.SendMail's defaults are shown hanging on a silent server and sending in
clear after a stripped STARTTLS, and net/smtp's HELO after a 421 to EHLO is shown caught.

Debian's golang-go (scripts/test.sh installs it when run as root); the example is built
once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recipes.conftest import (
    LOGIN_AND_WORKLOAD,
    REPRESENTATIVE,
    SILENT,
    check_login_and_workload,
    failures,
    run_recipe,
    silent_server,
    status,
)

pytestmark = pytest.mark.slow

FLAGS = ["-host", "{host}", "-port", "{port}", "-tls", "{tls}", "-cafile", "{cafile}"]


def test_go_recipe_passes(tmp_path: Path, go_command: list[str]) -> None:
    command = [*go_command, *FLAGS, "-timeout", "2"]
    results = run_recipe(tmp_path, [*REPRESENTATIVE, *LOGIN_AND_WORKLOAD,
                                    "cert-weak-key-implicit", "tarpit",
                                    "dot-554", "rcpt-550-partial", "store-then-drop"], command)
    assert failures(results) == {}
    check_login_and_workload(results)
    assert len(results["banner-421-throttle"]["attempts"]) == 6  # five faulted, then one more
    assert results["dot-554"]["client"]["exit_code"] == 2
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1


def test_go_defaults_hang_and_send_in_clear(tmp_path: Path, go_command: list[str]) -> None:
    """smtp.SendMail as documented: no timeout (the harness stops it after 4 s), and
    STARTTLS only when advertised (the system's CAs: SSL_CERT_FILE names the test CA)."""
    command = ["env", "SSL_CERT_FILE={cafile}", *go_command, "-defaults", *FLAGS]
    results = run_recipe(tmp_path, [silent_server(tmp_path, 4), "starttls-stripped"], command,
                         timeout_s=4)
    assert results[SILENT]["client"]["timed_out"]
    assert status(results["starttls-stripped"], "no-plaintext-fallback") == "failed"


def test_go_net_smtp_falls_back_to_helo_after_421(tmp_path: Path,
                                                  go_command: list[str]) -> None:
    """net/smtp's Hello sends HELO when EHLO fails, even with a 421 on a closing channel."""
    command = [*go_command, *FLAGS, "-timeout", "2"]
    result = run_recipe(tmp_path, ["ehlo-421"], command)["ehlo-421"]
    assert status(result, "closes-after-421") == "failed"
    helo = [e["text"] for a in result["attempts"] for e in a["events"]
            if e["kind"] == "command" and e["text"].startswith("HELO")]
    assert helo
