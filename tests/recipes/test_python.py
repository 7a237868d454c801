"""The Python recipes (docs/recipes/python-*.md, django.md): each example client passes the
representative scenarios; the library defaults it overrides are shown failing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.recipes.conftest import (
    EXAMPLES,
    PLACEHOLDERS,
    PYTHON,
    REPRESENTATIVE,
    SILENT,
    failures,
    run_recipe,
    silent_server,
    status,
)

pytestmark = pytest.mark.slow  # each runs a real client against real servers


def test_smtplib_recipe_passes(tmp_path: Path) -> None:
    command = [PYTHON, str(EXAMPLES / "smtplib" / "send.py"), *PLACEHOLDERS, "--timeout", "2"]
    results = run_recipe(tmp_path, [*REPRESENTATIVE, "dot-554", "store-then-drop"], command)
    assert failures(results) == {}
    assert len(results["banner-421-throttle"]["attempts"]) == 6
    assert results["dot-554"]["client"]["exit_code"] == 2  # permanent: not retried
    # the retry after the unacknowledged DATA is the same message: one Message-ID
    copies = {m["message_id"] for m in results["store-then-drop"]["messages"]}
    assert len(copies) == 1


def test_aiosmtplib_recipe_passes(tmp_path: Path) -> None:
    command = [PYTHON, str(EXAMPLES / "aiosmtplib" / "send.py"), *PLACEHOLDERS, "--timeout", "2"]
    results = run_recipe(tmp_path, [*REPRESENTATIVE, "cert-expired-implicit"], command)
    assert failures(results) == {}


def test_aiosmtplib_default_start_tls_is_stripped(tmp_path: Path) -> None:
    """aiosmtplib's default ``start_tls=None`` upgrades only when STARTTLS is advertised:
    stripped, the message goes out in cleartext, and the harness says so."""
    command = [PYTHON, str(EXAMPLES / "aiosmtplib" / "send.py"), *PLACEHOLDERS, "--timeout", "2",
               "--opportunistic-tls"]
    result = run_recipe(tmp_path, ["starttls-stripped"], command)["starttls-stripped"]
    assert not result["passed"]
    assert status(result, "no-plaintext-fallback") == "failed"
    assert len(result["messages"]) == 1


DJANGO = pytest.mark.skipif(importlib.util.find_spec("django") is None,
                            reason="Django is not installed (it is in the test extra)")


def django_command(timeout: str) -> list[str]:
    return ["env", "EMAIL_HOST={host}", "EMAIL_PORT={port}", "EMAIL_TLS={tls}",
            "EMAIL_CAFILE={cafile}", f"EMAIL_TIMEOUT={timeout}",
            PYTHON, str(EXAMPLES / "django" / "send.py")]


@DJANGO
def test_django_recipe_passes(tmp_path: Path) -> None:
    results = run_recipe(tmp_path, [*REPRESENTATIVE, "store-then-drop"], django_command("2"))
    assert failures(results) == {}
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1


@DJANGO
def test_django_without_email_timeout_hangs(tmp_path: Path) -> None:
    """Django's EMAIL_TIMEOUT defaults to None: a server that never greets hangs the send
    until the harness stops it (here after 4 s)."""
    result = run_recipe(tmp_path, [silent_server(tmp_path, 4)], django_command(""))
    assert result[SILENT]["client"]["timed_out"]
    assert status(result[SILENT], "finishes-in-time") == "failed"
