"""Named scenarios: the essay's stories and the field's classic results as small override files.

A scenario is a name, a one-line description, the sources it reproduces, and overrides of ``RunConfig``'s
defaults. ``oversight-lab list`` shows them; ``oversight-lab run NAME`` runs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Scenario", "SCENARIOS", "register_scenario", "get_scenario"]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sources: tuple[str, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {}


def register_scenario(scenario: Scenario) -> Scenario:
    SCENARIOS[scenario.name] = scenario
    return scenario


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    return SCENARIOS[name]


register_scenario(Scenario(
    name="alchemist",
    description=("Scenario 2 of the essay: an evaluator who knows a quarter of the mercury-bearing ingredients "
                 "and punishes warnings, against the expert, under best-of-n, RL and DPO."),
    sources=(
        "the essay, 'Scenario 2 (the betrayal)' and 'Flawed evaluations might lead to catastrophic alignment failures'",
        "Gao, Schulman & Hilton 2022, Scaling Laws for Reward Model Overoptimization",
    ),
    overrides={},  # the RunConfig defaults are this story
))
from oversight_lab.scenarios import (
    overoptimisation,  # noqa: E402,F401  (registers gao and coste)
    stories,  # noqa: E402,F401  (the essay's failure stories)
)
from oversight_lab.scenarios import protocols as _protocols  # noqa: E402,F401  (rlaif … sandwich)
from oversight_lab.scenarios import realmodel as _realmodel  # noqa: E402,F401  (alchemist_smollm2)
