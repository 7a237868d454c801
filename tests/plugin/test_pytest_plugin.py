"""The pytest plugin, end to end: inner pytest sessions run by ``pytester``."""

from __future__ import annotations

import pytest

# Imported here, before any inner session: pytester's in-process runs forget the modules
# they import, and a class imported twice is two classes.
import harness.engine
import harness.plan
import harness.properties
import harness.strategies  # noqa: F401

pytest_plugins = ["pytester"]

CLIENTS = '''
import smtplib

def send(host, port, attempts=3):
    """A small correct client: retries transient failures, stops at 5yz, and counts the
    message as sent once the final dot got its 250, whatever QUIT gets."""
    import time
    for attempt in range(1, attempts + 1):
        try:
            smtp = smtplib.SMTP(host, port, local_hostname="t", timeout=2)
            try:
                code, reply = smtp.ehlo()  # not sendmail's HELO fallback, even after 421
                if code != 250:
                    raise smtplib.SMTPHeloError(code, reply)
                smtp.sendmail("a@example.org", ["b@example.org"],
                              b"Subject: t\\r\\nMessage-ID: <1@t>\\r\\n\\r\\nhi\\r\\n")
            finally:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
            return
        except smtplib.SMTPResponseException as error:
            if error.smtp_code // 100 == 5 or attempt == attempts:
                raise
        except smtplib.SMTPRecipientsRefused as error:
            if attempt == attempts or any(c // 100 == 5 for c, _ in error.recipients.values()):
                raise
        except (OSError, smtplib.SMTPException):
            if attempt == attempts:
                raise
        time.sleep(0.01 * 2 ** attempt)

def send_once(host, port):
    """A broken client: never retries."""
    try:
        with smtplib.SMTP(host, port, local_hostname="t", timeout=2) as smtp:
            smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: t\\r\\n\\r\\nhi\\r\\n")
    except (OSError, smtplib.SMTPException):
        pass
'''


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(zoo_clients=CLIENTS)
    pytester.makeini("[pytest]\naddopts = -p no:benchmark\n")
    return pytester


def test_options_are_in_help(inner: pytest.Pytester) -> None:
    result = inner.runpytest("--help")
    result.stdout.fnmatch_lines(["*smtp-fault-harness*", "*--harness-seed=SEED*",
                                 "*--harness-scenarios=DIR*", "*--harness-toxiproxy=URL*"])


def test_markers_are_registered(inner: pytest.Pytester) -> None:
    result = inner.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.smtp_scenario(*names, category=None)*",
                                 "@pytest.mark.smtp_harness(check_verdict=True)*"])


def test_server_is_reset_between_tests_on_the_same_port(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import smtplib
        from harness import faults
        seen = []

        def test_first(smtp_server):
            smtp_server.use([faults.Reply(at="mail", reply="451 4.3.0 Later")])
            with smtplib.SMTP(smtp_server.host, smtp_server.port, local_hostname="t") as s:
                s.ehlo()
                assert s.docmd("MAIL", "FROM:<a@example.org>")[0] == 451
            assert len(smtp_server.timeline.attempts) == 1
            seen.append(smtp_server.port)

        def test_second(smtp_server):
            assert smtp_server.port == seen[0]          # started once per session
            assert smtp_server.timeline.attempts == ()  # but reset
            with smtplib.SMTP(smtp_server.host, smtp_server.port, local_hostname="t") as s:
                s.ehlo()
                assert s.docmd("MAIL", "FROM:<a@example.org>")[0] == 250  # no fault left
    """)
    inner.runpytest().assert_outcomes(passed=2)


def test_a_correct_client_passes_a_builtin_scenario(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        from zoo_clients import send

        def test_throttled(smtp_scenario):
            with smtp_scenario("rcpt-451") as run:
                send(run.host, run.port)
            assert run.verdict.passed
            assert len(run.timeline.attempts) == 2
    """)
    inner.runpytest().assert_outcomes(passed=1)


def test_a_failed_verdict_fails_at_teardown_with_sections(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        from zoo_clients import send_once

        def test_throttled(smtp_scenario):
            with smtp_scenario("rcpt-451") as run:
                send_once(run.host, run.port)
    """)
    result = inner.runpytest("--harness-seed=77")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_throttled*",
        "*scenario 'rcpt-451' failed (seed 77; rerun with --harness-seed=77)*",
        "*violation delivered: No message was delivered*",
        "*SMTP transcript: rcpt-451*",
        "*#1 S: 451 4.3.0 Local error in processing*",
        "*Harness verdict: rcpt-451*",
        "*verdict: FAILED (seed 77)*",
    ])


def test_the_marker_opts_out_of_the_teardown_check(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import pytest
        from zoo_clients import send_once

        @pytest.mark.smtp_harness(check_verdict=False)
        def test_throttled(smtp_scenario):
            with smtp_scenario("rcpt-451") as run:
                send_once(run.host, run.port)
            assert not run.verdict.passed  # still judged, not enforced
    """)
    inner.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_a_failing_test_body_gets_the_sections_not_a_second_error(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile("""
        from zoo_clients import send_once

        def test_throttled(smtp_scenario):
            with smtp_scenario("rcpt-451") as run:
                send_once(run.host, run.port)
            assert run.messages, "no message"
    """)
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: no message*", "*SMTP transcript: rcpt-451*"])


def test_marker_parametrises_over_names_patterns_and_categories(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile("""
        import pytest

        @pytest.mark.smtp_scenario("rcpt-451", "mail-*")
        def test_names(smtp_scenario):
            assert smtp_scenario.default is not None

        @pytest.mark.smtp_scenario(category="certificates")
        def test_category(smtp_scenario):
            assert smtp_scenario.default.startswith("cert-")
    """)
    result = inner.runpytest("-v", "--strict-markers")
    result.stdout.fnmatch_lines(["*test_names?rcpt-451? PASSED*", "*test_names?mail-421? PASSED*",
                                 "*test_names?mail-550? PASSED*",
                                 "*test_category?cert-expired-implicit? PASSED*"])
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] > 20


def test_marker_runs_the_chosen_scenario(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import pytest
        from zoo_clients import send

        @pytest.mark.smtp_scenario("rcpt-451", "no-fault")
        def test_each(smtp_scenario):
            with smtp_scenario() as run:
                send(run.host, run.port)
            assert run.name in ("rcpt-451", "no-fault")
    """)
    inner.runpytest().assert_outcomes(passed=2)


def test_an_unknown_scenario_is_a_usage_error_with_a_suggestion(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import pytest

        @pytest.mark.smtp_scenario("rcpt-415")
        def test_x(smtp_scenario):
            pass
    """)
    result = inner.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*no scenario 'rcpt-415'; did you mean 'rcpt-45?'*"])


def test_the_marker_without_the_fixture_is_a_usage_error(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import pytest

        @pytest.mark.smtp_scenario("no-fault")
        def test_x():
            pass
    """)
    result = inner.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*does not use*add smtp_scenario to its arguments*"])


def test_scenarios_option_finds_a_project_scenario(inner: pytest.Pytester) -> None:
    folder = inner.mkdir("scenarios")
    (folder / "our-greylist.yaml").write_text(
        "name: our-greylist\nfaults:\n  - {at: rcpt, attempts: 1, reply: '450 4.2.0 Later'}\n"
        "expect:\n  delivered: once\n  attempts: 2\n")
    inner.makepyfile("""
        import pytest
        from zoo_clients import send

        @pytest.mark.smtp_scenario("our-*")
        def test_ours(smtp_scenario):
            with smtp_scenario() as run:
                send(run.host, run.port)
            assert 450 in run.timeline.attempts[0].reply_codes
    """)
    result = inner.runpytest(f"--harness-scenarios={folder}", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["smtp-fault-harness: seed=random per run, chaos=embedded*",
                                 "*test_ours?our-greylist? PASSED*"])


def test_fluent_plan_and_expectations(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        from harness.plan import Plan
        from zoo_clients import send, send_once

        def test_plan(smtp_scenario):
            plan = Plan()
            plan.on("rcpt", to="b@example.org").reply("451 4.7.1 Later").times(2)
            with smtp_scenario(plan) as run:
                run.expect.delivered_once().attempts(3).backoff(at_least=0.02, factor=2)
                send(run.host, run.port)
            assert run.verdict.result("backoff.floor").status == "passed"

        def test_plan_broken(smtp_scenario):
            plan = Plan()
            plan.on("rcpt", to="b@example.org").reply("451 4.7.1 Later").times(2)
            plan.expect.delivered_once()
            with smtp_scenario(plan) as run:
                send_once(run.host, run.port)
    """)
    result = inner.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_plan_broken*",
                                 "*violation delivered*"])


def test_overriding_a_settings_fixture(inner: pytest.Pytester) -> None:
    inner.makeconftest("""
        import pytest

        @pytest.fixture(scope="session")
        def smtp_seed():
            return 4242
    """)
    inner.makepyfile("""
        from zoo_clients import send

        def test_seeded(smtp_scenario):
            with smtp_scenario("no-fault") as run:
                send(run.host, run.port)
            assert run.seed == 4242
    """)
    inner.runpytest().assert_outcomes(passed=1)


def test_chaos_fixture_puts_a_proxy_in_front(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import smtplib
        from harness.chaos import Toxic

        def test_latency(smtp_chaos, smtp_server):
            smtp_chaos.add_toxic(Toxic(type="latency", attributes={"latency": 30}))
            with smtplib.SMTP(smtp_chaos.host, smtp_chaos.port, local_hostname="t") as s:
                s.noop()
            timeline = smtp_server.recorder.wait_for(
                lambda t: t.attempts and t.attempts[0].end_ns, 5)
            assert smtp_chaos.port != smtp_server.port
            assert len(timeline.attempts) == 1

        def test_reset(smtp_chaos):
            assert smtp_chaos.toxics == []
    """)
    inner.runpytest().assert_outcomes(passed=2)


def test_hypothesis_with_the_session_engine(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        from hypothesis import given, settings
        from harness import strategies as hs
        from harness.properties import ClientPolicy, check_properties
        from harness.verdicts import BackoffPolicy
        from zoo_clients import send

        POLICY = ClientPolicy(max_attempts=3, backoff=BackoffPolicy(0.02, 2.0))

        @settings(max_examples=10, deadline=None)
        @given(plan=hs.fault_plans(transient_only=True, max_attempts=3,
                                   kinds=["reply", "close"]))
        def test_delivers(smtp_engine, plan):
            check_properties(smtp_engine, plan, lambda t: send(t.host, t.port), policy=POLICY)
    """)
    inner.runpytest().assert_outcomes(passed=1)


@pytest.mark.slow
def test_runs_under_xdist(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import pytest
        from zoo_clients import send

        @pytest.mark.parametrize("n", range(6))
        def test_many(smtp_scenario, n):
            with smtp_scenario("rcpt-451") as run:
                send(run.host, run.port)
            assert len(run.messages) == 1
    """)
    inner.runpytest_subprocess("-n", "2").assert_outcomes(passed=6)


def test_async_client_under_anyio(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import aiosmtplib
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_async(smtp_scenario):
            async with smtp_scenario("rcpt-451") as run:
                for attempt in range(2):
                    try:
                        await aiosmtplib.send(
                            b"Subject: t\\r\\n\\r\\nhi\\r\\n", sender="a@example.org",
                            recipients=["b@example.org"], hostname=run.host, port=run.port,
                            start_tls=False, timeout=2)
                        break
                    except aiosmtplib.SMTPException:
                        pass
            assert len(run.messages) == 1
    """)
    inner.runpytest().assert_outcomes(passed=1)


def test_toxiproxy_option_sends_toxics_to_a_toxiproxy_server(inner: pytest.Pytester) -> None:
    from harness.chaos.api import ToxiproxyAPI

    inner.makepyfile("""
        import smtplib
        from harness.chaos.backend import ToxiproxyBackend
        from harness.plan import Plan
        from zoo_clients import send, send_once

        def test_fixture(smtp_chaos, smtp_server):
            assert isinstance(smtp_chaos, ToxiproxyBackend)
            with smtplib.SMTP(smtp_chaos.host, smtp_chaos.port, local_hostname="t") as s:
                s.noop()

        def test_plan(smtp_scenario):
            plan = Plan().toxic("reset_peer", timeout=0, attempts=1)
            with smtp_scenario(plan) as run:
                send_once(run.host, run.port)  # reset
                # the second attempt's toxics (none) are installed between attempts: a
                # client reconnecting sooner races the switch (docs/chaos.md)
                run.proxy.wait_installed(2)
                send(run.host, run.port)
            # through a real Toxiproxy the server only sees its side reset
            assert [a.closed_by for a in run.timeline.attempts] == ["client-reset",
                                                                     "client-quit"]
            assert len(run.messages) == 1
    """)
    with ToxiproxyAPI() as api:
        result = inner.runpytest(f"--harness-toxiproxy={api.url}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"smtp-fault-harness: seed=random per run, chaos={api.url}"])
