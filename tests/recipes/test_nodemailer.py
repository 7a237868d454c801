"""The nodemailer recipe (docs/recipes/nodemailer.md): the example passes the
representative scenarios; nodemailer's default opportunistic STARTTLS is shown stripped.

nodemailer comes from npm: scripts/test.sh installs it into examples/nodemailer/ when npm
is there (``npm ci``, from the committed package-lock.json)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.recipes.conftest import EXAMPLES, PLACEHOLDERS, failures, run_recipe, status

SEND = EXAMPLES / "nodemailer" / "send.js"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(
        not (EXAMPLES / "nodemailer" / "node_modules" / "nodemailer").is_dir(),
        reason="nodemailer is not installed: run npm ci in examples/nodemailer"
        " (scripts/test.sh does when npm is there)",
    ),
]
COMMAND = ["node", str(SEND), *PLACEHOLDERS, "--timeout", "2"]


def test_nodemailer_recipe_passes(tmp_path: Path) -> None:
    scenarios = ["no-fault", "banner-421-throttle", "reset-mid-data", "cert-expired-starttls",
                 "cert-expired-implicit", "cert-weak-key-implicit", "starttls-502", "rcpt-550",
                 "store-then-drop"]
    results = run_recipe(tmp_path, scenarios, COMMAND)
    assert failures(results) == {}
    assert len({m["message_id"] for m in results["store-then-drop"]["messages"]}) == 1
    assert len(results["banner-421-throttle"]["attempts"]) == 6


def test_nodemailer_require_tls_never_sends_in_clear(tmp_path: Path) -> None:
    """With requireTLS nodemailer sends STARTTLS even when it is not advertised; the
    attacker of starttls-stripped answers it 502, so nodemailer stops, sends nothing in
    clear and reports a permanent failure: it passes. (It is given no credentials, so
    no-plaintext-auth has nothing to judge.)"""
    result = run_recipe(tmp_path, ["starttls-stripped"], COMMAND)["starttls-stripped"]
    assert result["passed"], failures({"starttls-stripped": result})
    assert status(result, "no-plaintext-fallback") == "passed"
    assert status(result, "no-plaintext-auth") == "skipped"
    assert not result["messages"] and result["client"]["exit_code"] == 2
    starttls = [e for a in result["attempts"] for e in a["events"]
                if e["kind"] == "command" and e["text"] == "STARTTLS"]
    assert starttls


def test_nodemailer_default_opportunistic_tls_is_stripped(tmp_path: Path) -> None:
    result = run_recipe(tmp_path, ["starttls-stripped"],
                        [*COMMAND, "--opportunistic-tls"])["starttls-stripped"]
    assert not result["passed"]
    assert status(result, "no-plaintext-fallback") == "failed"
