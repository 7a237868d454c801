"""Every snippet in the docs is executed or validated, so the docs cannot drift from the code.

- ```python blocks run, in a fresh namespace holding ``my_app`` (a small correct mailer:
  ``my_app.send_welcome_mail(smtp_host=..., smtp_port=...)``) and ``run_the_client(host,
  port, tls=..., cafile=...)``, the names the docs use for "your own client code";
- ```yaml blocks with a top-level ``name`` load as scenarios; other YAML must parse;
- ```sh / ```console lines that start with ``harness`` parse with the CLI's own parser.

A block right after ``<!-- snippet: not run (why) -->`` is skipped, with its reason in the
docs for every reader to see.
"""

from __future__ import annotations

import random
import re
import shlex
import types
from pathlib import Path

import pytest
import yaml

from harness.cli import _parser
from harness.examples.client import (
    Backoff,
    Policy,
    Pool,
    build_message,
    send_all,
)
from harness.model import Scenario

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"(<!-- snippet: not run[^>]*-->\s*)?```(\w+)[^\n]*\n(.*?)```", re.DOTALL)


def blocks(language: set[str]) -> list[tuple[str, str]]:
    found = []
    for path in FILES:
        text = path.read_text()
        for n, match in enumerate(BLOCK.finditer(text)):
            skipped, lang, body = match.groups()
            if lang in language and not skipped:
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{path.relative_to(ROOT)}:{line}#{n}", body))
    return found


def _send(host: str, port: int, *, tls: str = "none", cafile: str | None = None) -> bool:
    """A correct mailer; False when it gave up (a refused certificate, say)."""
    policy = Policy(initial_s=0.02, cap_s=0.2, max_attempts=8, timeout_s=5)
    message = build_message("app@harness.test", ["user@harness.test"])
    pool = Pool(host, port, policy, tls=tls, cafile=cafile)
    return send_all(pool, [message], Backoff(policy, random.Random(0))) == 0


def namespace() -> dict[str, object]:
    my_app = types.SimpleNamespace(
        send_welcome_mail=lambda smtp_host, smtp_port, **tls: _send(smtp_host, smtp_port, **tls))
    return {"my_app": my_app, "run_the_client": _send, "__name__": "snippet"}


@pytest.mark.parametrize(("where", "code"), blocks({"python"}))
def test_python_snippet_runs(where: str, code: str) -> None:
    exec(compile(code, where, "exec"), namespace())


@pytest.mark.parametrize(("where", "text"), blocks({"yaml", "yml"}))
def test_yaml_snippet_is_valid(where: str, text: str) -> None:
    data = yaml.safe_load(text)
    if isinstance(data, dict) and "name" in data and ("faults" in data or "expect" in data
                                                      or "server" in data):
        Scenario.from_str(text, source=where)


@pytest.mark.parametrize(("where", "text"), blocks({"sh", "console", "shell", "bash"}))
def test_harness_command_lines_parse(where: str, text: str) -> None:
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ")
        for command in re.split(r"\s*&&\s*", line):
            if not command.startswith("harness "):
                continue
            argv = shlex.split(command, comments=True)[1:]
            if "--" in argv:
                argv = argv[:argv.index("--")]
            _parser().parse_args(argv)  # exits (a failure) on an unknown option
