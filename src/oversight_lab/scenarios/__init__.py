"""Named scenarios: the essay's stories and the field's classic results, as YAML files shipped in the package.

A scenario is a name, a one-line description, the sources it reproduces, overrides of ``RunConfig``'s
defaults, and its pre-registration: the primary measure, its direction and the minimum effect that counts,
declared before any confirmation run, with the seed blocks reserved for confirmation
(``oversight-lab run NAME --confirm``). ``oversight-lab list`` shows them; ``oversight-lab run NAME`` runs
one.

Every scenario is a file ``oversight_lab/data/scenarios/NAME.yaml`` (the format: :mod:`.loader`), read here
once; a story's failure measures are in its file too (:mod:`.stories`). Code may add one with
``register_scenario(Scenario(...))`` or ``register_scenario(load_scenario_file(path)[0])``.
"""

from __future__ import annotations

from oversight_lab.scenarios.loader import ScenarioError, load_scenario_file, load_scenarios
from oversight_lab.scenarios.schema import Measure, Preregistration, Scenario, Story

__all__ = [
    "Measure",
    "Preregistration",
    "Scenario",
    "SCENARIOS",
    "ScenarioError",
    "Story",
    "get_scenario",
    "load_scenario_file",
    "register_scenario",
]

SCENARIOS: dict[str, Scenario]
_STORIES: dict[str, Story]
SCENARIOS, _STORIES = load_scenarios()


def register_scenario(scenario: Scenario) -> Scenario:
    SCENARIOS[scenario.name] = scenario
    return scenario


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    return SCENARIOS[name]
