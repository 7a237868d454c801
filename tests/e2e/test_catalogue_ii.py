"""Catalogue II: every scenario of the reference's remaining cases is failed by the zoo
client broken in the way it targets, and passed by the zoo's correct client. (The
bundled example client passes them in tests/cli/test_catalogue.py, with the rest.)"""

from __future__ import annotations

import pytest

from harness.engine import Engine
from harness.model import load_scenario
from tests.clients import Specimen

CAUGHT_BY = {
    "class-mismatch-451": "enhanced_code_first",
    "class-mismatch-550": "enhanced_code_first",
    "unknown-code-299": "strict_reply_codes",
    "unknown-code-477": "strict_reply_codes",
    "multiline-bare-250": "strict_reply_codes",
    "no-esmtp": "strict_reply_codes",
    "no-esmtp-starttls": "plaintext_fallback",
    "silent-after-rcpt": "no_timeout",
    "outage-never-ends": "doubled_retries",
    "starttls-no-pipelining": "pipelines_starttls",
}
CORRECT = "smtplib_backoff"


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(settle_s=2.0) as running:
        yield running


def failures(engine: Engine, scenario: str, client: str) -> list[str]:
    with engine.run(load_scenario(scenario)) as run:
        run.call(Specimen(client, None).send, time_limit_s=6.0)
    return [r.name for r in run.verdict.failures]


@pytest.mark.parametrize(("scenario", "client"), CAUGHT_BY.items())
def test_the_broken_client_is_caught(engine: Engine, scenario: str, client: str) -> None:
    assert failures(engine, scenario, client)


@pytest.mark.parametrize("scenario", CAUGHT_BY)
def test_the_correct_client_passes(engine: Engine, scenario: str) -> None:
    assert failures(engine, scenario, CORRECT) == []
