"""Running the client under test: placeholders, environment, exit codes, time limits."""

from __future__ import annotations

import sys

import pytest

from harness.clients import CallableClient, CommandClient, Target, expand
from harness.errors import ClientError

TARGET = Target("127.0.0.1", 2525, tls="starttls", cafile="/ca.pem")


def test_placeholders_are_filled_and_shell_style_braces_kept() -> None:
    argv = expand(["send", "--to={host}:{port}", "{tls}", "{cafile}", "${HOME}"], TARGET)
    assert argv == ["send", "--to=127.0.0.1:2525", "starttls", "/ca.pem", "${HOME}"]


def test_unknown_placeholder_suggests_the_right_one() -> None:
    with pytest.raises(ClientError, match=r"unknown placeholder \{prot\}.*did you mean '\{port\}'"):
        expand(["send", "{prot}"], TARGET)


def test_command_gets_exit_code_output_and_environment() -> None:
    code = "import os,sys; print(os.environ['HARNESS_SMTP_PORT'], sys.argv[1]); sys.exit(3)"
    result = CommandClient([sys.executable, "-c", code, "{host}"]).run(TARGET, timeout_s=30)
    assert (result.exit_code, result.timed_out) == (3, False)
    assert result.stdout == "2525 127.0.0.1\n"


def test_command_past_its_time_limit_is_stopped_with_its_children() -> None:
    code = ("import subprocess,sys,time; subprocess.Popen([sys.executable,'-c',"
            "'import time; time.sleep(60)']); print('started', flush=True); time.sleep(60)")
    result = CommandClient([sys.executable, "-c", code]).run(TARGET, timeout_s=1.0)
    assert result.timed_out and result.exit_code is None
    assert result.stdout == "started\n"  # output up to the stop is kept
    assert result.error == "stopped after the 1s time limit"


def test_missing_command_is_a_clear_error() -> None:
    with pytest.raises(ClientError, match=r"command not found: \./no-such-client"):
        CommandClient("./no-such-client --port {port}").run(TARGET, timeout_s=5)


def test_empty_command_is_refused() -> None:
    with pytest.raises(ClientError, match="empty"):
        CommandClient([])


def test_callable_client_reports_success_and_failure() -> None:
    seen: list[Target] = []
    assert CallableClient(seen.append).run(TARGET, timeout_s=5).exit_code == 0
    assert seen == [TARGET]

    def fails(target: Target) -> None:
        raise ConnectionRefusedError("nope")

    result = CallableClient(fails).run(TARGET, timeout_s=5)
    assert result.exit_code is None and result.error == "ConnectionRefusedError: nope"
