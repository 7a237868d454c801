"""The Ruby recipe (docs/recipes/ruby-mail.md): the example (the mail gem over net-smtp)
passes the representative scenarios; the gem's default opportunistic STARTTLS is shown
stripped, and net-smtp's QUIT after the 250 is shown not to cost a duplicate.

Debian's ruby-mail (scripts/test.sh installs it when run as root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recipes.conftest import (
    EXAMPLES,
    LOGIN_AND_WORKLOAD,
    PLACEHOLDERS,
    REPRESENTATIVE,
    check_login_and_workload,
    failures,
    require_ok,
    run_recipe,
    status,
)

pytestmark = pytest.mark.slow

COMMAND = ["ruby", str(EXAMPLES / "ruby-mail" / "send.rb"), *PLACEHOLDERS]


@pytest.fixture(autouse=True)
def _mail_gem() -> None:
    require_ok(["ruby", "-e", "require 'mail'"],
               "Ruby's mail gem is not installed (Debian: ruby-mail; scripts/test.sh installs"
               " it when run as root)")


def test_ruby_mail_recipe_passes(tmp_path: Path) -> None:
    results = run_recipe(tmp_path, [*REPRESENTATIVE, *LOGIN_AND_WORKLOAD,
                                    "cert-wrong-host-implicit", "dot-554",
                                    "close-after-250", "store-then-drop"],
                         [*COMMAND, "--timeout", "2"])
    assert failures(results) == {}
    check_login_and_workload(results)
    assert len(results["banner-421-throttle"]["attempts"]) == 6  # five faulted, then one more
    assert results["dot-554"]["client"]["exit_code"] == 2
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1


def test_ruby_mail_defaults_send_in_clear_and_resend(tmp_path: Path) -> None:
    """enable_starttls_auto (the default) upgrades only when STARTTLS is advertised; and
    net-smtp raises when its QUIT finds the connection closed after the 250, so the
    delivered message is reported as a failure."""
    results = run_recipe(tmp_path, ["starttls-stripped", "close-after-250"],
                         [*COMMAND, "--defaults"])
    assert status(results["starttls-stripped"], "no-plaintext-fallback") == "failed"
    after_250 = results["close-after-250"]
    assert len(after_250["messages"]) == 1 and after_250["client"]["exit_code"] != 0
