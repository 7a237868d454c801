"""Scenario files: one strict model, YAML with line-numbered errors, a JSON Schema.

::

    scenario = Scenario.from_path("banner-421-throttle.yaml")
    plan = scenario.fault_schedule()            # harness.faults objects, seeded
    expected = scenario.expectations()      # harness.verdicts.spec.Expectations

Every problem of a file is raised at once as :class:`ScenarioError`.
"""

from harness.model.errors import Problem, ScenarioError
from harness.model.scenario import ClientSetup, Scenario, ServerSetup, load_scenario
from harness.model.schema import json_schema, validate_paths

__all__ = [
    "ClientSetup",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ServerSetup",
    "json_schema",
    "load_scenario",
    "validate_paths",
]
