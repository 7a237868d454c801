"""Scenario files: one strict model, YAML with line-numbered errors, a JSON Schema.

::

    scenario = Scenario.from_path("banner-421-throttle.yaml")
    plan = scenario.fault_plan()            # harness.faults objects, seeded
    expected = scenario.expectations()      # harness.verdicts.spec.Expectations

Every problem of a file is raised at once as :class:`ScenarioError`.
"""

from harness.scenario.errors import Problem, ScenarioError
from harness.scenario.load import load_scenario
from harness.scenario.model import Client, Scenario, Server
from harness.scenario.schema import json_schema, validate_paths

__all__ = [
    "Client",
    "Problem",
    "Scenario",
    "ScenarioError",
    "Server",
    "json_schema",
    "load_scenario",
    "validate_paths",
]
