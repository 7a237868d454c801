"""The Perl recipe (docs/recipes/perl-net-smtp.md): the example passes the representative
scenarios; Net::SMTP's default timeout (120 s) is shown too long for a silent server.

Perl's core Net::SMTP, with IO::Socket::SSL (Debian: libio-socket-ssl-perl)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recipes.conftest import (
    EXAMPLES,
    LOGIN_AND_WORKLOAD,
    PLACEHOLDERS,
    REPRESENTATIVE,
    SILENT,
    check_login_and_workload,
    failures,
    require_ok,
    run_recipe,
    silent_server,
)

pytestmark = pytest.mark.slow

COMMAND = ["perl", str(EXAMPLES / "perl-net-smtp" / "send.pl"), *PLACEHOLDERS]


@pytest.fixture(autouse=True)
def _io_socket_ssl() -> None:
    require_ok(["perl", "-MIO::Socket::SSL", "-MNet::SMTP", "-e", "1"],
               "IO::Socket::SSL is not installed (Debian: libio-socket-ssl-perl;"
               " scripts/test.sh installs it when run as root)")


def test_perl_net_smtp_recipe_passes(tmp_path: Path) -> None:
    results = run_recipe(tmp_path, [*REPRESENTATIVE, *LOGIN_AND_WORKLOAD,
                                    "cert-wrong-host-implicit", "ehlo-421",
                                    "starttls-handshake-garbage", "dot-554", "rcpt-550-partial",
                                    "store-then-drop"],
                         [*COMMAND, "--timeout", "2"])
    assert failures(results) == {}
    check_login_and_workload(results)
    assert len(results["banner-421-throttle"]["attempts"]) == 6  # five faulted, then one more
    assert results["dot-554"]["client"]["exit_code"] == 2
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1


def test_perl_net_smtp_defaults_wait_on_a_silent_server(tmp_path: Path) -> None:
    """Net::SMTP waits 120 s for a greeting by default: the harness stops it after 4 s."""
    result = run_recipe(tmp_path, [silent_server(tmp_path, 4)], [*COMMAND, "--defaults"])
    assert result[SILENT]["client"]["timed_out"]
