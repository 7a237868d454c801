"""The PHPMailer recipe (docs/recipes/php-phpmailer.md): the example passes the
representative scenarios; PHPMailer's default opportunistic STARTTLS is shown stripped,
and its MAIL FROM after a 421 to EHLO is shown caught.

Debian's php-cli and libphp-phpmailer (scripts/test.sh installs them when run as root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recipes.conftest import (
    EXAMPLES,
    LOGIN_AND_WORKLOAD,
    PLACEHOLDERS,
    REPRESENTATIVE,
    check_login_and_workload,
    detail,
    failures,
    require_ok,
    run_recipe,
    status,
)

pytestmark = pytest.mark.slow

AUTOLOAD = "/usr/share/php/libphp-phpmailer/autoload.php"
COMMAND = ["php", str(EXAMPLES / "phpmailer" / "send.php"), *PLACEHOLDERS]


@pytest.fixture(autouse=True)
def _phpmailer() -> None:
    require_ok(["php", "-r", f"require '{AUTOLOAD}';"],
               "PHPMailer is not installed (Debian: libphp-phpmailer; scripts/test.sh installs"
               " it when run as root)")


def test_phpmailer_recipe_passes(tmp_path: Path) -> None:
    results = run_recipe(tmp_path, [*REPRESENTATIVE, *LOGIN_AND_WORKLOAD,
                                    "cert-wrong-host-implicit", "rcpt-451",
                                    "dot-554", "rcpt-550-partial", "store-then-drop"],
                         [*COMMAND, "--timeout", "2"])
    assert failures(results) == {}
    check_login_and_workload(results)
    assert len(results["banner-421-throttle"]["attempts"]) == 6  # five faulted, then one more
    assert results["dot-554"]["client"]["exit_code"] == 2
    assert len(results["rcpt-451"]["attempts"]) == 2  # a 451 to every RCPT: retried
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1


def test_phpmailer_defaults_send_in_clear(tmp_path: Path) -> None:
    """SMTPAutoTLS (the default) upgrades only when STARTTLS is advertised."""
    result = run_recipe(tmp_path, ["starttls-stripped"], [*COMMAND, "--defaults"])
    assert status(result["starttls-stripped"], "no-plaintext-fallback") == "failed"


def test_phpmailer_goes_on_after_421_to_ehlo(tmp_path: Path) -> None:
    """PHPMailer does not fall back to HELO after a 421, but ignores the failed greeting
    and sends MAIL FROM on the closing channel."""
    result = run_recipe(tmp_path, ["ehlo-421"], [*COMMAND, "--timeout", "2"])["ehlo-421"]
    assert status(result, "closes-after-421") == "failed"
    assert "MAIL FROM" in detail(result, "closes-after-421")


def test_phpmailer_requiring_tls_sends_over_starttls_without_ehlo(tmp_path: Path) -> None:
    """EHLO refused: PHPMailer greets with HELO and, TLS being required (SMTPSecure),
    issues STARTTLS anyway and sends over the verified session: safe, so it passes
    no-esmtp-starttls. With its defaults (opportunistic) it sends in clear, and fails."""
    required = run_recipe(tmp_path, ["no-esmtp-starttls"],
                          [*COMMAND, "--timeout", "2"])["no-esmtp-starttls"]
    assert required["passed"], failures({"no-esmtp-starttls": required})
    assert len(required["messages"]) == 1
    assert "secured TLS after all on attempt 1" in detail(required, "no-plaintext-fallback")
    opportunistic = run_recipe(tmp_path, ["no-esmtp-starttls"],
                               [*COMMAND, "--defaults"])["no-esmtp-starttls"]
    assert status(opportunistic, "no-plaintext-fallback") == "failed"
    assert "MAIL FROM" in detail(opportunistic, "no-plaintext-fallback")
