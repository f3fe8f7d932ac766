"""The classic reward-model overoptimisation results at CPU scale, and the essay's variation on them.

``gao`` (Gao, Schulman & Hilton 2022) and ``coste`` (Coste, Anwar, Kirk & Krueger 2023) are the files
``oversight_lab/data/scenarios/{gao,coste}.yaml`` (what each reproduces is written at their top); each is one
cell of the shipped grid of the same name (``oversight_lab/data/grids/``), which is the experiment
(``oversight-lab sweep gao``). The analyses are :mod:`oversight_lab.analyses.overopt`. The names here are the
evaluators and the budget those files share, for code and tests.
"""

from __future__ import annotations

from typing import Any

from oversight_lab.scenarios import get_scenario
from oversight_lab.scenarios.loader import shared

__all__ = ["COMMON", "EXPERT", "HIDDEN", "INCOMPLETE", "LABEL_NOISE", "SOURCES"]

SOURCES: tuple[str, ...] = get_scenario("gao").sources
COMMON: dict[str, Any] = shared("overopt_budget")  # the budget both share
EXPERT: dict[str, Any] = get_scenario("gao").overrides["arms"]["expert"]  # gold with Bradley-Terry noise
INCOMPLETE: dict[str, Any] = shared("incomplete_evaluator")  # knows a quarter of the mercury ingredients
HIDDEN: dict[str, Any] = shared("hidden_evaluator")  # reads the first item only (examples/grids/coste-hidden)
LABEL_NOISE: dict[str, Any] = get_scenario("coste").overrides["arms"]["label_noise"]  # 25% flipped labels
