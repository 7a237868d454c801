"""The shell recipe (docs/recipes/shell-swaks-msmtp.md): msmtp inside the retry wrapper
passes the representative scenarios; swaks alone, which sends once, does not retry.

Both come from Debian (scripts/test.sh installs them when run as root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recipes.conftest import EXAMPLES, REPRESENTATIVE, failures, require, run_recipe

pytestmark = pytest.mark.slow


def test_msmtp_recipe_passes(tmp_path: Path) -> None:
    require("msmtp")
    command = ["sh", str(EXAMPLES / "msmtp" / "send.sh"), "{host}", "{port}", "{tls}",
               "{cafile}"]
    results = run_recipe(tmp_path, [*REPRESENTATIVE, "dot-451", "dot-554", "store-then-drop"],
                         command)
    assert failures(results) == {}
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1
    assert results["dot-554"]["client"]["exit_code"] == 2


def test_swaks_alone_does_not_retry(tmp_path: Path) -> None:
    """swaks is a test tool: one attempt, TLS verified when asked. It refuses the bad
    certificate, and fails the throttle it does not retry."""
    require("swaks")
    command = ["sh", str(EXAMPLES / "swaks" / "send.sh"), "{host}", "{port}", "{tls}",
               "{cafile}"]
    results = run_recipe(tmp_path, ["cert-expired-starttls", "starttls-stripped",
                                    "banner-421-throttle"], command)
    assert results["cert-expired-starttls"]["passed"], failures(results)
    assert results["starttls-stripped"]["passed"], failures(results)
    throttled = results["banner-421-throttle"]
    assert not throttled["passed"]
    assert len(throttled["attempts"]) == 1
