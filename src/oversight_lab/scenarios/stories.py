"""The essay's failure modes as named stories: each runs a flawed evaluator and its control on one budget.

A story is a scenario whose file (``oversight_lab/data/scenarios/NAME.yaml``) has a ``story`` key: the failure
in plain words and what its analysis measures (:mod:`oversight_lab.analyses.stories`): the failure's
metrics, each read before and after RLHF per replicate, on the fixed items (``items.jsonl``, averaged within
the replicate) or on the sampled answers of a checkpoint (``metrics.jsonl``), with intervals over pretraining
seeds. The first measure is the story's pre-registered primary measure.

Three arms per story (the alchemist keeps its registered two): ``flawed`` is an imperfect human (choice
noise, careless flips, fatigue: ``shared/human_choice.yaml``; where the world has facts or hazards, gaps in
what it knows) plus the story's one blind spot; ``control`` (control A, the primary contrast) is the same
imperfect human without the blind spot, never gold; ``expert`` (control B) is the ``expert`` kind (gold) with
the same choice noise and fatigue. A story's ``dose`` names the blind spot's parameter and its values from
none to strong (``oversight-lab run STORY --dose``). ``oversight-lab run --all-stories`` runs them all in one
pool of workers and writes the combined report.
"""

from __future__ import annotations

from typing import Any

from oversight_lab.scenarios import _STORIES, get_scenario
from oversight_lab.scenarios.loader import shared
from oversight_lab.scenarios.schema import Dose, Measure, Story

__all__ = [
    "DOSE_BUDGET", "STORIES", "STORY_BUDGET", "Dose", "Measure", "Story", "dose_arms", "story_overrides",
]

# One budget for every story and arm (data/scenarios/shared/story_budget.yaml).
STORY_BUDGET: dict[str, Any] = shared("story_budget")
# A dose–response run (``--dose``): the story budget on 3 pretraining × 2 RLHF seeds per dose.
DOSE_BUDGET: dict[str, Any] = {**STORY_BUDGET, **shared("dose_seeds")}
STORIES: dict[str, Story] = _STORIES


def dose_arms(flawed: dict[str, Any], dose: Dose) -> dict[str, dict[str, Any]]:
    """One arm per dose value, ``dose-<i>``: the flawed arm's spec with ``dose.flaw``'s ``dose.param`` set."""
    kinds = [f.get("kind") for f in flawed["flaws"]]
    if dose.flaw not in kinds:
        have = ", ".join(map(str, kinds))
        raise ValueError(f"dose: the flawed arm has no flaw {dose.flaw!r} (it has {have})")
    arms = {}
    for i, v in enumerate(dose.values):
        flaws = [{**f, dose.param: v} if f.get("kind") == dose.flaw else dict(f) for f in flawed["flaws"]]
        arms[f"dose-{i}"] = {**flawed, "flaws": flaws}
    return arms


def story_overrides(name: str) -> dict[str, Any]:
    """A story's config overrides for ``--all-stories``: its scenario's on top of the shared budget."""
    return {**STORY_BUDGET, **get_scenario(name).overrides, "scenario": name}
