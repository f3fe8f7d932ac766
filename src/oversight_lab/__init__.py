"""oversight-lab: RLHF-based scalable oversight, end to end, and the ways it breaks.

The public API. Names are imported on first use, so ``import oversight_lab`` (and the CLI) stays fast and the
heavy libraries (torch, transformers, TRL) load only when a model is touched.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # worlds
    "World": "oversight_lab.worlds.base",
    "Task": "oversight_lab.worlds.base",
    "Answer": "oversight_lab.worlds.base",
    "Observation": "oversight_lab.worlds.base",
    "WORLDS": "oversight_lab.worlds.base",
    "make_world": "oversight_lab.worlds.base",
    "register_world": "oversight_lab.worlds.base",
    "AlchemyWorld": "oversight_lab.worlds.alchemy",
    # evaluators
    "Evaluator": "oversight_lab.evaluators.base",
    "Preference": "oversight_lab.evaluators.base",
    "SimulatedEvaluator": "oversight_lab.evaluators.simulated",
    "ExpertEvaluator": "oversight_lab.evaluators.simulated",
    "Flaw": "oversight_lab.evaluators.flaws",
    "FLAWS": "oversight_lab.evaluators.flaws",
    "register_flaw": "oversight_lab.evaluators.flaws",
    "make_flaw": "oversight_lab.evaluators.flaws",
    "IncompleteCriteria": "oversight_lab.evaluators.flaws",
    "HiddenInformation": "oversight_lab.evaluators.flaws",
    "Noise": "oversight_lab.evaluators.flaws",
    # feedback
    "Comparison": "oversight_lab.feedback.records",
    "read_comparisons": "oversight_lab.feedback.records",
    "write_comparisons": "oversight_lab.feedback.records",
    "to_trl": "oversight_lab.feedback.records",
    "to_dataset": "oversight_lab.feedback.records",
    # models, reward, optimisers
    "Policy": "oversight_lab.models.policy",
    "TinyConfig": "oversight_lab.models.tiny",
    "load_or_pretrain": "oversight_lab.models.tiny",
    "load_hf_policy": "oversight_lab.models.loading",
    "RewardModel": "oversight_lab.reward.bradley_terry",
    "RewardModelConfig": "oversight_lab.reward.config",
    "train_reward_model": "oversight_lab.reward.bradley_terry",
    "bon_curve": "oversight_lab.optimize.best_of_n",
    "bon_kl": "oversight_lab.optimize.best_of_n",
    "exact_bon_kl": "oversight_lab.optimize.best_of_n",
    "BestOfNConfig": "oversight_lab.optimize.best_of_n",
    "RLConfig": "oversight_lab.optimize.rl",
    "train_rl": "oversight_lab.optimize.rl",
    "DPOConfig": "oversight_lab.optimize.dpo",
    "train_dpo": "oversight_lab.optimize.dpo",
    # runs
    "RunConfig": "oversight_lab.config",
    "resolve_config": "oversight_lab.config",
    "run_arm": "oversight_lab.loop",
    "execute": "oversight_lab.runs.runner",
    "Scenario": "oversight_lab.scenarios",
    "SCENARIOS": "oversight_lab.scenarios",
    "register_scenario": "oversight_lab.scenarios",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'oversight_lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
