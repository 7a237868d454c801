"""How the ``harness`` command's help reads, and what it does when its reader goes away.

Every option says its default in ``--help`` (written once here, not in each help text);
``harness list | head`` ends quietly, as ``cat`` would, not with a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

EXIT_BROKEN_PIPE = 141
"""What a shell reports for a command whose reader closed the pipe (128 + SIGPIPE)."""


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help, unless it says its default already or
    has none worth saying (None, False, an empty list, a required or positional argument)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (default in (None, False, [], argparse.SUPPRESS) or not action.option_strings
                or action.required or "default" in text or "%(default)" in text):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An argument parser whose help says every default (its subcommands' too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def quiet_broken_pipe() -> int:
    """After a BrokenPipeError: send what is left of stdout nowhere (so that Python's own
    flush at exit cannot raise again), and return the exit code of a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (a test's capture, say)
        pass
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE
