"""A fault or toxic written to a scenario file and read back is the same fault or toxic.

The scenario-file writer (``harness.plan.fault_item``) and reader (the ``faults:``
models) are both derived from each kind's own declaration; this property holds them to
each other for every registered kind with any valid settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings

from harness import faults
from harness._strategies.kinds import any_faults, any_toxics
from harness.chaos import Toxic
from harness.faults import Fault
from harness.model import Scenario, safe_yaml
from harness.plan import Plan, fault_item, toxic_item
from harness.smtp.faults.base import REGISTRY, Action, FaultContext, Send
from harness.smtp.faults.shape import setting


def through_yaml(item: dict[str, Any]) -> Fault:
    """Written as the harness writes scenario files (``Plan.to_yaml``), read as it reads them."""
    text = safe_yaml.dump({"name": "round-trip", "faults": [item]})
    (fault,) = Scenario.from_str(text, source="round-trip.yaml").fault_schedule(seed=1).faults
    return fault


@settings(max_examples=300, deadline=None)
@given(fault=any_faults())
def test_every_fault_kind_goes_to_yaml_and_back_unchanged(fault: Fault) -> None:
    assert through_yaml(fault_item(fault)) == fault


@pytest.mark.parametrize("data", [b"\x85", b"ab\x85\x0a", b"\xe2\x80\xa8"])
def test_bytes_yaml_reads_as_line_breaks_come_back_unchanged(data: bytes) -> None:
    """NEL (0x85) was written raw in quotes and read back as a space (found by the
    property above on Python 3.12)."""
    fault = faults.HandshakeFailure(data=data)
    assert through_yaml(fault_item(fault)) == fault
    saved = Plan().add(fault).to_yaml("nel")
    (loaded,) = Scenario.from_str(saved, source="nel.yaml").fault_schedule(seed=1).faults
    assert loaded == fault


@settings(max_examples=300, deadline=None)
@given(toxic=any_toxics())
def test_every_toxic_goes_to_yaml_and_back_unchanged(toxic: Toxic) -> None:
    text = safe_yaml.dump({"name": "round-trip", "network": [toxic_item(toxic)]})
    (loaded,) = Scenario.from_str(text, source="round-trip.yaml").toxics()
    assert loaded == toxic


@settings(max_examples=100, deadline=None)
@given(toxic=any_toxics())
def test_every_toxic_goes_to_toxiproxy_json_and_back_unchanged(toxic: Toxic) -> None:
    """The form the chaos proxy's HTTP API and the JSON of a proxy carry."""
    assert Toxic.from_json(toxic.to_json()) == toxic


@settings(max_examples=150, deadline=None)
@given(fault=any_faults(), toxic=any_toxics())
def test_a_scenario_goes_to_its_json_report_form_and_back_unchanged(
    fault: Fault, toxic: Toxic
) -> None:
    """The JSON report carries each scenario's definition (``Scenario.to_dict``)."""
    data = {"name": "round-trip", "faults": [fault_item(fault)], "network": [toxic_item(toxic)]}
    scenario = Scenario.from_dict(data)
    again = Scenario.from_dict(json.loads(json.dumps(scenario.to_dict())))
    assert again == scenario
    assert again.fault_schedule(seed=1).faults == (fault,)
    assert again.toxics() == (toxic,)


def test_every_registered_kind_is_drawn() -> None:
    assert set(faults.KINDS) >= {"auth-failure", "size-limit", "stop-reading", "reply"}


@pytest.fixture
def bye_kind() -> Iterator[type[Fault]]:
    """A kind with a text setting, as a reviewer added one: registered for the test only."""

    @dataclass(frozen=True, kw_only=True)
    class Bye(Fault):
        """Say goodbye with ``text``."""

        text: str = setting("text", "What to say.", default="Bye")

        kind = "bye"

        def act(self, ctx: FaultContext) -> Action:
            return Send(faults.Reply(at="quit", reply=f"421 {self.text}").parsed)

    yield Bye
    REGISTRY.pop("bye")


def test_a_kind_with_settings_keeps_them_in_its_yaml_item(bye_kind: type[Fault]) -> None:
    """The bug this replaces: a kind without its own branch in the writer came back as
    ``{'at': 'mail', 'bye': True}``, its text silently lost."""
    fault = bye_kind(at="mail", text="Going down now")  # type: ignore[call-arg]
    assert fault_item(fault) == {"at": "mail", "bye": "Going down now"}
    assert fault_item(bye_kind(at="mail")) == {"at": "mail", "bye": True}
