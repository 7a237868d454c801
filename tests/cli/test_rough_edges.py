"""The rough edges a new user hit, each with its test: a closed pipe ends quietly, every
option has help text, and every option's help says its default."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from harness.cli import _parser, main


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **commands.choices}


def options() -> list[tuple[str, argparse.Action]]:
    return [(name, action) for name, parser in subcommands().items()
            for action in parser._actions
            if not isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                                       argparse._SubParsersAction))]


@pytest.mark.parametrize(("command", "action"), options(),
                         ids=lambda value: value if isinstance(value, str) else
                         "/".join(value.option_strings) or str(value.dest))
def test_every_option_has_help_that_says_its_default(command: str,
                                                     action: argparse.Action) -> None:
    assert action.help, f"harness {command} {action.option_strings or action.dest}: no help"
    parser = subcommands()[command]
    text = parser.formatter_class(prog="harness")._get_help_string(action) or ""
    flag = action.nargs == 0  # store_true and the like: off unless given
    if action.option_strings and not action.required and not flag:
        assert "default" in text, f"harness {command} {action.option_strings}: {text}"


@pytest.mark.parametrize("command", ["run", "serve", "demo", "merge", "toxiproxy"])
def test_help_shows_the_defaults(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.count("(default:") >= 1, out
    if command == "run":
        assert "client.timeout_s" in out  # the time limit when --timeout is not given


@pytest.mark.parametrize("arguments", [["list"], ["schema"], ["schema", "--report"]])
def test_a_closed_pipe_ends_quietly(arguments: list[str]) -> None:
    """As ``harness list | head`` when head has read its lines and gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the harness writes a byte
    try:
        done = subprocess.run([sys.executable, "-m", "harness", *arguments], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141  # as a shell reports a command killed by SIGPIPE
