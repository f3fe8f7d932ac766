"""The essay's failure modes as named stories: each runs a flawed evaluator and its control on one budget.

A story is a scenario whose file (``oversight_lab/data/scenarios/NAME.yaml``) has a ``story`` key: the failure
in plain words and what its analysis measures (:mod:`oversight_lab.analyses.stories`): the failure's
metrics, each read before and after RLHF per replicate, on the fixed items (``items.jsonl``, averaged within
the replicate) or on the sampled answers of a checkpoint (``metrics.jsonl``), with intervals over pretraining
seeds. The first measure is the story's pre-registered primary measure. The control is the same evaluator
without the flaw. ``oversight-lab run --all-stories`` runs them all in one pool of workers and writes the
combined report.
"""

from __future__ import annotations

from typing import Any

from oversight_lab.scenarios import _STORIES, get_scenario
from oversight_lab.scenarios.loader import shared
from oversight_lab.scenarios.schema import Measure, Story

__all__ = ["STORIES", "STORY_BUDGET", "Measure", "Story", "story_overrides"]

# One budget for every story and arm (data/scenarios/shared/story_budget.yaml).
STORY_BUDGET: dict[str, Any] = shared("story_budget")
STORIES: dict[str, Story] = _STORIES


def story_overrides(name: str) -> dict[str, Any]:
    """A story's config overrides for ``--all-stories``: its scenario's on top of the shared budget."""
    return {**STORY_BUDGET, **get_scenario(name).overrides, "scenario": name}
