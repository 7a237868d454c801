"""Report files: their paths checked before a run starts, and each written on its own.

A report path into a missing folder, or at a folder, is a usage error found before any
client runs, not a traceback after the run. If writing fails at the end anyway (the disk
filled, the folder went away), the other reports are still written and the failure is
returned, so the exit code can say so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.errors import ClientError

#: Exit code when every report could not be written (as for any harness error).
EXIT_REPORT_FAILED = 3


def check_report_paths(paths: Mapping[str, str | Path | None]) -> None:
    """Raise :class:`ClientError` (a usage error) for the first path, keyed by its
    option (``"--json"``), that cannot be written: a folder, a missing or unwritable
    folder to write it in. ``None`` means the report was not asked for."""
    for option, given in paths.items():
        if given is None or given == "":
            continue
        path = Path(given)
        folder = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            problem = "is a folder; give a file name"
        elif not folder.is_dir():
            problem = f"cannot be written: no folder {str(folder)!r}"
        elif path.exists() and not os.access(path, os.W_OK):
            problem = "cannot be written: permission denied"
        elif not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
            problem = f"cannot be written: folder {str(folder)!r} is not writable"
        else:
            continue
        raise ClientError(f"{option} {given}: {problem}")


def write_reports(writers: Sequence[tuple[str, str | None, Callable[[str], None]]]) -> list[str]:
    """Run each ``(option, path, write)`` whose path is set; one that fails does not
    stop the others. Returns what failed, one message per report."""
    failed = []
    for option, path, write in writers:
        if not path:
            continue
        try:
            write(path)
        except OSError as error:
            failed.append(f"{option} {path}: not written: {error.strerror or error}")
    return failed
