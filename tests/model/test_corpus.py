"""The scenario corpus: every valid file loads to what it says, every invalid file fails
with exactly the message stored next to it (``name.yaml`` + ``name.expected.txt``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import faults
from harness.model import Scenario, ScenarioError
from harness.model._base import selector
from harness.model.network import TOXICS, Down
from harness.replies import SMTPReply
from harness.verdicts.spec import AttemptBounds, BackoffPolicy, Expectations

HERE = Path(__file__).parent
VALID = sorted((HERE / "valid").glob("*.yaml"))
INVALID = sorted((HERE / "invalid").glob("*.yaml"))


@pytest.fixture
def in_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages name files as given: load from the corpus folder, by file name."""
    monkeypatch.chdir(HERE / "invalid")


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
@pytest.mark.usefixtures("in_corpus")
def test_invalid_file_reports_exactly(path: Path) -> None:
    expected = path.with_suffix(".expected.txt").read_text(encoding="utf-8").rstrip("\n")
    # the lists of kinds and toxics come from their registries
    expected = expected.replace("{fault kinds}", ", ".join(faults.KINDS))
    expected = expected.replace("{toxic types}", ", ".join(TOXICS))
    expected = expected.replace("{quoted toxic types}", ", ".join(f"'{t}'" for t in TOXICS))
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_path(path.name)
    assert str(caught.value) == expected


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_file_loads_and_builds(path: Path) -> None:
    scenario = Scenario.from_path(path)
    assert scenario.fault_schedule(seed=1).faults == scenario.build_faults()
    assert isinstance(scenario.expectations(), Expectations)


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_file_round_trips_through_yaml(path: Path) -> None:
    scenario = Scenario.from_path(path)
    again = Scenario.from_str(scenario.to_yaml())
    assert again == scenario.model_copy(update={"extends": None})
    assert again.build_faults() == scenario.build_faults()


def load(name: str) -> Scenario:
    return Scenario.from_path(HERE / "valid" / f"{name}.yaml")


def test_minimal_takes_every_default() -> None:
    scenario = load("minimal")
    assert (scenario.name, scenario.about, scenario.seed, scenario.extends) == (
        "minimal", "", None, None
    )
    assert scenario.server.tls == "none"
    assert scenario.server.certificate == "valid"
    assert scenario.server.auth is None
    assert scenario.faults == scenario.network == ()
    assert scenario.client.command is None
    assert scenario.client.timeout_s == 60.0
    assert scenario.expectations() == Expectations()


def test_every_fault_kind_builds_its_fault_object() -> None:
    scenario = load("every-fault-kind")
    assert scenario.build_faults() == (
        faults.Reply(at="banner", reply="421 4.7.0 Try again later", attempts=(1, 2)),
        faults.Reply(
            at="ehlo", reply=("250-mx.example.test", "250 SIZE 1000"), then_close=True
        ),
        faults.Delay(at="banner", seconds=3.0, attempts="1-2"),
        faults.Close(at="mail", attempts=3),
        faults.Reset(at="body", after_bytes=2048, attempts="3+"),
        faults.Hang(at="data", probability=0.5),
        faults.Greylist(at="rcpt", seconds=2.0),
        faults.Greylist(seconds=5, reply="450 4.2.0 Greylisted", match="bob@"),
        faults.ConnectionLimit(max_connections=2),
        faults.RateLimit(messages=3, window_s=60),
        faults.StoreThenDrop(at="dot", attempts=(1,)),
        faults.Reply(at="rcpt", match="bob@", reply="550 5.1.1 No such user"),
        faults.StripStartTLS(),
        faults.Capabilities(
            add=("AUTH PLAIN LOGIN",), remove=("STARTTLS", "SIZE"), when="before-tls"
        ),
        faults.InjectAfterStartTLS(),
        faults.InjectAfterStartTLS(lines=("250-x", "250 AUTH X-INJECTED"), attempts=(2,)),
        faults.HandshakeFailure(),
        faults.HandshakeFailure(data=b"\x15\x03\x01\x00\x02\x02\x28", attempts=(2,)),
    )
    plan = scenario.fault_schedule()
    assert plan.seed == 42
    assert scenario.fault_schedule(seed=7).seed == 7
    greylist = plan.faults[7]
    assert isinstance(greylist, faults.Greylist)
    assert greylist.parsed == SMTPReply(450, "Greylisted", "4.2.0")
    assert [str(f.selector) for f in plan.faults[:5]] == ["1,2", "all", "1-2", "3", "3+"]


def test_network_keeps_toxiproxy_names_and_units() -> None:
    network = load("network").network
    assert [item.toxic for item in network] == [
        "latency", "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer",
        "limit_data", "down",
    ]
    first, second = network[0], network[1]
    assert isinstance(first, TOXICS["latency"]) and isinstance(second, TOXICS["latency"])
    assert (first.toxic_name, first.stream, first.toxicity) == (
        "latency_downstream", "downstream", 1.0
    )
    assert first.attributes() == {"latency": 300, "jitter": 50}
    assert (second.toxic_name, second.stream, second.toxicity) == ("slow-upload", "upstream", 0.5)
    slicer = network[6]
    assert isinstance(slicer, TOXICS["slicer"])
    assert slicer.attributes() == {"average_size": 10, "size_variation": 5, "delay": 20000}
    assert network[4].attempts == (2,)
    assert network[5].attributes() == {"timeout": 0}
    assert network[8] == Down(toxic="down", attempts=(1,))
    down = Scenario.from_str("name: x\nnetwork: [{toxic: down, for_s: 2.5}]").down()
    assert down == Down(toxic="down", for_s=2.5)


def test_toxics_are_the_chaos_layers_own() -> None:
    from harness.chaos import Toxic as ChaosToxic

    scenario = load("network")
    items = [item for item in scenario.network if not isinstance(item, Down)]
    toxics = scenario.toxics()
    assert len(toxics) == 8
    for item, toxic in zip(items, toxics):
        assert isinstance(toxic, ChaosToxic)
        assert (toxic.type, toxic.name, toxic.stream) == (item.toxic, item.toxic_name, item.stream)
        assert dict(toxic.attributes) == item.attributes()
        assert toxic.selector == selector(item.attempts)
    assert toxics[4].to_json() == {
        "name": "timeout_downstream", "type": "timeout", "stream": "downstream",
        "toxicity": 1, "attributes": {"timeout": 0}, "attempts": "2",
    }
    assert scenario.down() == Down(toxic="down", attempts=(1,))
    assert load("minimal").down() is None


def test_server_section() -> None:
    server = load("server").server
    assert server.tls == "starttls" and server.starttls_required
    assert server.certificate == {"1": "expired", "2+": "valid"}
    extensions = server.extensions
    assert (extensions.size, extensions.eight_bit_mime, extensions.smtputf8) == (
        1048576, False, True
    )
    assert extensions.pipelining
    assert server.auth is not None
    assert server.auth.mechanisms == ("PLAIN",)
    assert server.auth.credentials == {"alice": "s3cret"}
    assert server.auth.required and not server.auth.allow_plaintext
    assert server.options() == {
        "tls": "starttls",
        "certificate": {"1": "expired", "2+": "valid"},
        "starttls_required": True,
        "data_size_limit": 1048576,
        "auth_credentials": {"alice": "s3cret"},
        "auth_require_tls": True,
        "auth_required": True,
    }


def test_server_options_are_what_the_fake_server_takes() -> None:
    from harness.smtp.server import FakeSMTPServer

    for name in ("minimal", "server"):
        server = FakeSMTPServer(load(name).fault_schedule(seed=1), **load(name).server.options())
        assert server.tls.certificate_for(1) == ("expired" if name == "server" else "valid")
        assert server.tls.certificate_for(2) == "valid"


def test_client_command_string_is_split_then_filled() -> None:
    client = load("client").client
    values = {"host": "127.0.0.1", "port": 2525, "cafile": "/ca dir/ca.pem", "tls": "none"}
    assert client.argv(values) == [
        "./send-mail", "--host", "127.0.0.1", "--port", "2525", "--cafile", "/ca dir/ca.pem",
        "--tls", "none",
    ]
    assert client.timeout_s == 20.0
    assert client.env == {"MAIL_DEBUG": "1"}


def test_client_command_list_keeps_its_arguments() -> None:
    client = load("client-argv").client
    assert client.argv({"host": "h", "port": 1}) == [
        "python", "-m", "mailer", "--server", "h:1", "--literal", "{x}"
    ]


def test_expect_section_becomes_the_verdicts_expectations() -> None:
    assert load("expect-everything").expectations() == Expectations(
        delivered="at-least-once",
        attempts=AttemptBounds(2, 5),
        backoff=BackoffPolicy(initial_s=0.5, factor=3.0, cap_s=10.0, jitter="decorrelated"),
        no_retry_after_permanent=True,
        closes_after_421=True,
        gives_up_within_s=30.0,
        client_exit="non-zero",
        refuses_bad_certificate=True,
        no_plaintext_fallback=True,
        no_plaintext_auth=True,
        discards_injected_responses=True,
        re_ehlo_after_starttls=None,
        relax=frozenset({"backoff", "attempts"}),
    )
