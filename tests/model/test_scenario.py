"""Loading API, extends, the built-in catalogue and the JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest
import yaml

from harness import faults
from harness.errors import HarnessError
from harness.model import (
    Problem,
    Scenario,
    ScenarioError,
    json_schema,
    load_scenario,
    validate_paths,
)
from harness.model.builtin_scenarios import builtin_names, builtin_path
from harness.model.expect import Expect, Name
from harness.model.fault_items import ITEMS
from harness.model.network import TOXICS, Down, ToxicItem
from harness.model.scenario import Certificate
from harness.verdicts.spec import AttemptBounds

HERE = Path(__file__).parent
DOCS = HERE.parent.parent / "docs" / "scenarios.md"


# -- the three ways in ------------------------------------------------------------------


def test_from_str_names_the_source_in_messages() -> None:
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_str("name: x\nserver: {tls: tls}\n", source="inline.yaml")
    assert str(caught.value).startswith("inline.yaml:2: server.tls: expected one of 'none',")


def test_from_dict_has_paths_but_no_lines() -> None:
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_dict({"name": "x", "faults": [{"at": "banner", "delay": -1}]})
    assert caught.value.problems == (
        Problem("<dict>", None, "faults[0].delay", "expected a number >= 0, got -1"),
    )
    assert str(caught.value) == "<dict>: faults[0].delay: expected a number >= 0, got -1"


def test_from_dict_equals_from_str() -> None:
    text = "name: x\nfaults:\n  - {at: rcpt, greylist: 2}\nexpect: {delivered: once}\n"
    assert Scenario.from_dict(yaml.safe_load(text)) == Scenario.from_str(text)


def test_scenario_error_is_a_harness_error() -> None:
    assert issubclass(ScenarioError, HarnessError)


def test_scenario_is_frozen() -> None:
    scenario = Scenario.from_str("name: x")
    with pytest.raises(ValueError, match="frozen"):
        scenario.name = "y"  # type: ignore[misc]


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read the file"):
        Scenario.from_path(missing)


def test_yaml_anchors_and_merge_keys_work() -> None:
    text = (
        "name: anchors\n"
        "faults:\n"
        "  - &busy {at: banner, reply: '421 4.7.0 Busy', attempts: [1]}\n"
        "  - {<<: *busy, attempts: [2]}\n"
    )
    first, second = Scenario.from_str(text).build_faults()
    assert first.attempts == (1,) and second.attempts == (2,)


# -- extends ------------------------------------------------------------------------------


def test_extends_builtin_overrides_lists_and_merges_mappings() -> None:
    scenario = Scenario.from_path(HERE / "valid" / "extends-builtin.yaml")
    base = load_scenario("greylist")
    assert scenario.name == "greylist-slow"
    assert scenario.extends == "greylist"
    assert scenario.build_faults() == (faults.Greylist(at="rcpt", seconds=5.0),)
    expected = scenario.expectations()
    assert expected.attempts == AttemptBounds(2, 4)
    assert expected.delivered == base.expectations().delivered == "once"
    assert expected.client_exit == "zero"


def test_extends_file_semantics() -> None:
    scenario = Scenario.from_path(HERE / "valid" / "extends-file.yaml")
    # name and about are the file's own, never inherited
    assert (scenario.name, scenario.about) == ("extends-file", "")
    # scalars and mappings below the top merge key by key
    assert scenario.seed == 7
    assert scenario.server.tls == "starttls"
    assert scenario.server.certificate == "self-signed"
    assert scenario.server.extensions.smtputf8
    assert scenario.client.timeout_s == 30
    assert scenario.client.env == {"A": "1", "B": "two", "C": "3"}
    # lists replace whole
    assert scenario.build_faults() == (faults.Greylist(at="rcpt", seconds=2.0),)
    # null removes the base's key
    expected = scenario.expectations()
    assert expected.backoff is None
    assert expected.closes_after_421 is True
    assert expected.relax == frozenset({"closes-after-421"})


def test_extends_from_str_is_relative_to_base_dir() -> None:
    text = "name: x\nextends: base.yaml\n"
    scenario = Scenario.from_str(text, base_dir=HERE / "bases")
    assert scenario.seed == 7
    with pytest.raises(ScenarioError, match="expected an existing scenario file"):
        Scenario.from_str(text)


def test_extends_problems_point_at_the_file_they_are_in(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("faults:\n  - {at: rcpt, delay: -2}\n")
    (tmp_path / "child.yaml").write_text("name: child\nextends: base.yaml\nseed: x\n")
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_path(tmp_path / "child.yaml")
    assert [(Path(p.source).name, p.line, p.path) for p in caught.value.problems] == [
        ("child.yaml", 3, "seed"),
        ("base.yaml", 2, "faults[0].delay"),
    ]


# -- the built-in catalogue ----------------------------------------------------------------

BUILTINS = builtin_names()


def test_catalogue_has_the_first_scenarios() -> None:
    assert {
        "no-fault", "banner-421-throttle", "greylist", "reset-mid-data", "store-then-drop",
        "rcpt-550-partial",
    } <= set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_loads_and_builds_its_fault_schedule(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    assert re.search(r"RFC \d+", scenario.about), "about must cite the reference"
    plan = scenario.fault_schedule(seed=1)
    assert len(plan.faults) == len(scenario.faults)
    assert scenario.expectations() != Expect().to_spec(), "a scenario must expect something"
    assert Scenario.from_str(scenario.to_yaml()) == scenario


def test_unknown_builtin_suggests_the_closest() -> None:
    with pytest.raises(ScenarioError, match=r"got 'grey-list'; did you mean 'greylist'\?"):
        load_scenario("grey-list")
    with pytest.raises(ScenarioError):
        builtin_path("../greylist")


def test_load_scenario_takes_a_path_too() -> None:
    assert load_scenario(builtin_path("greylist")) == load_scenario("greylist")


# -- the models stay in step with the engine -----------------------------------------------


def test_every_fault_kind_has_an_item_shape() -> None:
    assert set(ITEMS) == set(faults.KINDS)
    for kind, item in ITEMS.items():
        assert item.kind == kind
        key = item.model_fields[kind.replace("-", "_")]
        assert (key.alias or kind.replace("-", "_")) == kind


def test_relax_names_are_the_expectation_keys_and_backoff_parts() -> None:
    keys = {field.alias or name for name, field in Expect.model_fields.items()}
    parts = {name for name in get_args(Name) if name.startswith("backoff.")}
    assert set(get_args(Name)) - parts == keys - {"relax", "opportunistic", "refused"}
    assert parts == {"backoff.floor", "backoff.growth", "backoff.cap", "backoff.envelope"}


def test_certificate_names_are_the_catalogue() -> None:
    tls = pytest.importorskip("harness.tls")
    assert set(get_args(Certificate)) == set(tls.names())


# -- JSON Schema and bulk validation -------------------------------------------------------


def test_schema_is_json_and_lists_the_sections() -> None:
    schema = json_schema()
    json.dumps(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "name", "about", "extends", "seed", "server", "faults", "network", "messages", "clients",
        "client", "expect",
    }
    assert len(schema["properties"]["faults"]["items"]["oneOf"]) == len(faults.KINDS)
    expect = schema["$defs"]["Expect"]["properties"]
    assert "closes-after-421" in expect and "closes_after_421" not in expect


def _schema_files() -> list[Path]:
    return [builtin_path(n) for n in BUILTINS] + sorted((HERE / "valid").glob("*.yaml"))


@pytest.mark.parametrize("path", _schema_files(), ids=lambda p: p.stem)
def test_schema_accepts_builtin_and_valid_files(path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    assert errors == []


@pytest.mark.parametrize(
    "name",
    ["unknown-key", "unknown-fault-kind", "unknown-toxic", "unknown-certificate",
     "probability-out-of-range", "two-fault-kinds", "toxic-in-seconds", "phase-not-allowed"],
)
def test_schema_refuses_what_the_loader_refuses(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    data = yaml.safe_load((HERE / "invalid" / f"{name}.yaml").read_text())
    assert not validator.is_valid(data)


def test_validate_paths_reports_each_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("name: good\n")
    (tmp_path / "bad.yml").write_text("name: bad\nseed: -1\n")
    (tmp_path / "notes.txt").write_text("not a scenario")
    results = validate_paths([tmp_path, HERE / "valid" / "minimal.yaml"])
    assert [(path.name, error is None) for path, error in results] == [
        ("bad.yml", False), ("good.yaml", True), ("minimal.yaml", True),
    ]
    error = results[0][1]
    assert error is not None
    assert str(error).endswith("bad.yml:2: seed: expected a number >= 0, got -1")


def test_down_is_not_a_toxic_with_a_stream() -> None:
    down = Scenario.from_str("name: x\nnetwork: [{toxic: down}]").network[0]
    assert isinstance(down, Down) and not isinstance(down, ToxicItem)
    assert (down.attempts, down.for_s) == (None, None)


# -- the docs' examples are scenarios that load ---------------------------------------------


def _doc_blocks(language: str) -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


ERROR_EXAMPLE = HERE / "invalid" / "mailer-throttle.yaml"


@pytest.mark.parametrize("block", _doc_blocks("yaml"))
def test_docs_yaml_blocks_load(block: str) -> None:
    data = yaml.safe_load(block)
    if block == ERROR_EXAMPLE.read_text(encoding="utf-8"):
        return  # the error example, checked below
    if isinstance(data, dict) and "name" in data:
        Scenario.from_str(block, source="docs")


def test_docs_error_example_is_the_real_output() -> None:
    assert ERROR_EXAMPLE.read_text(encoding="utf-8") in _doc_blocks("yaml")
    expected = ERROR_EXAMPLE.with_suffix(".expected.txt").read_text(encoding="utf-8")
    assert expected.replace("{fault kinds}", ", ".join(ITEMS)) in _doc_blocks("text")


def test_docs_list_every_fault_kind_toxic_and_expectation() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = [*TOXICS, *(n for n in get_args(Name) if "." not in n)]
    assert [name for name in rows if f"| `{name}` |" not in text] == []
    reference = (DOCS.parent / "reference" / "faults-and-toxics.md").read_text(encoding="utf-8")
    assert [name for name in ITEMS if f"| `{name}` |" not in reference] == []
