"""The toxic envelope: Toxiproxy's defaults, names and JSON, and the checks it adds."""

from __future__ import annotations

import pytest

from harness.chaos import TYPES, InvalidToxic, Toxic


def test_defaults_follow_toxiproxy() -> None:
    toxic = Toxic(type="latency", attributes={"latency": 5})
    assert (toxic.name, toxic.stream, toxic.toxicity) == ("latency_downstream", "downstream", 1.0)
    assert toxic.to_json() == {"attributes": {"latency": 5, "jitter": 0},
                               "name": "latency_downstream", "type": "latency",
                               "stream": "downstream", "toxicity": 1}


def test_stream_is_matched_in_any_case_and_echoed_as_given() -> None:
    toxic = Toxic(type="noop", stream="UpStream")
    assert (toxic.direction, toxic.stream, toxic.name) == ("upstream", "UpStream",
                                                            "noop_UpStream")


def test_every_type_lists_every_attribute_with_defaults() -> None:
    required = {"latency": {"latency": 1}, "bandwidth": {"rate": 1}, "slow_close": {"delay": 1},
                "slicer": {"average_size": 1}, "limit_data": {"bytes": 1}}
    shapes = {name: Toxic(type=name, attributes=required.get(name, {})).attributes
              for name in TYPES}
    assert shapes == {
        "latency": {"latency": 1, "jitter": 0}, "bandwidth": {"rate": 1},
        "slow_close": {"delay": 1}, "timeout": {"timeout": 0}, "reset_peer": {"timeout": 0},
        "slicer": {"average_size": 1, "size_variation": 0, "delay": 0},
        "limit_data": {"bytes": 1}, "noop": {},
    }


def test_update_changes_only_the_keys_given() -> None:
    toxic = Toxic(type="latency", attributes={"latency": 100, "jitter": 5}, toxicity=0.5)
    updated = toxic.updated({"jitter": 10}, None)
    assert (updated.attributes, updated.toxicity, updated.name) == (
        {"latency": 100, "jitter": 10}, 0.5, "latency_downstream")


def test_attempts_are_an_extension_shown_only_when_scoped() -> None:
    assert "attempts" not in Toxic(type="noop").to_json()
    scoped = Toxic.from_json({"type": "noop", "attempts": "1-2"})
    assert scoped.to_json()["attempts"] == "1-2"
    assert 2 in scoped.selector and 3 not in scoped.selector


@pytest.mark.parametrize(("fields", "message"), [
    ({"type": "latency", "attributes": {"latency": 1, "jiter": 2}}, "did you mean 'jitter'"),
    ({"type": "latency", "attributes": {"latency": True}}, "must be an integer"),
    ({"type": "timeout", "attributes": {"timeout": -1}}, "negative"),
    ({"type": "slicer", "attributes": {"average_size": 4, "size_variation": 4}},
     "size_variation must be smaller"),
    ({"type": "noop", "toxicity": 1.5}, "toxicity"),
    ({"type": "noop", "attempts": "0"}, "attempt number 0"),
    ({"type": "bandwidth"}, "missing required attribute 'rate'"),
])
def test_bad_toxics_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidToxic, match=message):
        Toxic.from_json(fields)


def test_control_a_good_toxic_is_accepted() -> None:
    assert Toxic.from_json({"type": "slicer", "attributes": {"average_size": 4,
                                                              "size_variation": 3}})
