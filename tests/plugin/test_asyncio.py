"""The plugin's fixtures in ``async def`` tests under pytest-asyncio, as under anyio: the
server keeps its own loop thread, the client runs on the test's event loop, and the
verdict is judged at teardown (a client that never retries fails its test)."""

from __future__ import annotations

import pytest

import harness.engine  # noqa: F401  (before any inner session: see test_pytest_plugin.py)

pytest_plugins = ["pytester"]
pytest.importorskip("pytest_asyncio")

TESTS = '''
import aiosmtplib
import pytest


async def send(run, attempts):
    for attempt in range(attempts):
        try:
            await aiosmtplib.send(
                b"Subject: t\\r\\n\\r\\nhi\\r\\n", sender="a@example.org",
                recipients=["b@example.org"], hostname=run.host, port=run.port,
                start_tls=False, timeout=2)
            return
        except aiosmtplib.SMTPException:
            continue


@pytest.mark.asyncio
async def test_retries(smtp_scenario):
    async with smtp_scenario("rcpt-451") as run:
        await send(run, attempts=3)
    assert len(run.messages) == 1


@pytest.mark.asyncio
async def test_gives_up(smtp_scenario):
    async with smtp_scenario("rcpt-451") as run:
        await send(run, attempts=1)


@pytest.mark.asyncio
async def test_server_fixture(smtp_server):
    smtp = aiosmtplib.SMTP(hostname=smtp_server.host, port=smtp_server.port, start_tls=False)
    async with smtp:
        await smtp.sendmail("a@example.org", ["b@example.org"], "Subject: t\\r\\n\\r\\nhi\\r\\n")
    assert len(smtp_server.messages) == 1
'''


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_fixtures_in_async_tests_under_pytest_asyncio(pytester: pytest.Pytester,
                                                      mode: str) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:benchmark -p no:anyio\n"
                     f"asyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3, errors=1)  # test_gives_up: its call passed
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_gives_up*",
                                 "*delivered*"])
