"""The fake server's session lists to aiosmtpd only the members aiosmtpd looks for by name
(a connection's set-up is cheaper for it); aiosmtpd must still find every one of them."""

import asyncio

from aiosmtpd.smtp import SMTP

from harness.smtp.faults.schedule import FaultSchedule
from harness.smtp.protocol import FaultySMTP, SessionHost
from harness.timeline import Recorder


def test_aiosmtpd_finds_every_command_auth_mechanism_and_hook() -> None:
    loop = asyncio.new_event_loop()
    try:
        host = SessionHost(FaultSchedule([], seed=1), Recorder(), "localhost")
        session = FaultySMTP(host, idle_timeout=30, loop=loop)
        bare = SMTP(object(), hostname="localhost", loop=loop)
    finally:
        loop.close()
    commands = {name[5:] for name in dir(FaultySMTP) if name.startswith("smtp_")}
    assert set(session._smtp_methods) == commands
    assert set(session._smtp_methods) >= set(bare._smtp_methods)
    assert set(session._auth_methods) == set(bare._auth_methods) >= {"LOGIN", "PLAIN"}
    assert set(session._handle_hooks) == {"DATA", "EHLO"}
    assert session._ehlo_hook_ver == "new"  # the five-argument hook, whose edits we make
